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
      ->check(CLI::NonNegativeNumber);
  app.parse_complete_callback([&threads] {
    if (threads > 0) {
      torch::set_num_threads(threads);
    } else if (std::getenv("OMP_NUM_THREADS") == nullptr) {
      torch::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    }
  });

  carve::cli::Action action;
  carve::cli::add_penalty_commands(app, action);
  carve::cli::add_bench_commands(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::fprintf(stderr, "carve: %s\n", e.what());
    return 2;
  }
  try {
    return action ? action() : 0;
  } catch (const carve::UsageError& e) {
    std::fprintf(stderr, "carve: %s\n", e.what());
    return 2;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "carve: %s\n", e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "carve: %s\n", e.what());
    return 1;
  }
}
