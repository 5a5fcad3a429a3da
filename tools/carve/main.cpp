// carve: regularized auto-encoders on LibTorch.
//
// Exit codes: 0 success, 2 bad input (flags, values, files), 1 any other failure. Errors are
// printed once, as one line, without a backtrace.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>

#include <torch/torch.h>

#include "carve/error.h"
#include "carve/runtime.h"
#include "carve/version.h"
#include "commands.h"
#include "console.h"

int main(int argc, char** argv) {
  carve::tune_allocator();
  CLI::App app{"carve: contractive, denoising and other regularized auto-encoders on LibTorch"};
  app.require_subcommand(1);
  app.fallthrough();  // global options (--threads) may follow the subcommand; inherited below
  app.set_version_flag("--version", std::string("carve ") + carve::version());

  // LibTorch follows omp_get_max_threads(), which is 1 on some machines: use every core
  // unless told otherwise (--threads, or OMP_NUM_THREADS in the environment).
  int threads = 0;
  app.add_option("--threads", threads, "intra-op threads (default: all cores, or OMP_NUM_THREADS)")
      ->check(CLI::Validator(
          [](std::string& value) {
            return value.find_first_not_of("0123456789") == std::string::npos
                       ? std::string()
                       : "must be a non-negative integer, got '" + value + "'";
          },
          "INT>=0"));
  app.parse_complete_callback([&threads] {
    if (threads > 0) {
      torch::set_num_threads(threads);
    } else if (std::getenv("OMP_NUM_THREADS") == nullptr) {
      torch::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    }
  });

  carve::cli::Action action;
  carve::cli::add_penalty_commands(app, action);
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
  carve::cli::add_run_commands(app, action, command_line);
  carve::cli::add_cluster_commands(app, action);
  carve::cli::add_data_commands(app, action);
  carve::cli::add_bench_commands(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::fprintf(stderr, "carve: %s\n", e.what());
    return 2;
  }
  if (!action) {
    // A command group (`carve penalty`) without its subcommand.
    for (const auto* sub : app.get_subcommands()) {
      std::string names;
      for (const auto* leaf : sub->get_subcommands({})) names += (names.empty() ? "" : ", ") + leaf->get_name();
      std::fprintf(stderr, "carve: %s: a subcommand is required (one of: %s)\n",
                   sub->get_name().c_str(), names.c_str());
    }
    return 2;
  }
  try {
    return action();
  } catch (const carve::UsageError& e) {
    carve::cli::end_progress_line();
    std::fprintf(stderr, "carve: %s\n", e.what());
    return 2;
  } catch (const c10::Error& e) {
    carve::cli::end_progress_line();
    std::fprintf(stderr, "carve: %s\n", e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {
    carve::cli::end_progress_line();
    std::fprintf(stderr, "carve: %s\n", e.what());
    return 1;
  }
}
