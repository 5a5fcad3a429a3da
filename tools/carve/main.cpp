// carve: regularized auto-encoders on LibTorch.
//
// Exit codes: 0 success, 2 bad input (flags, values, files), 1 any other failure. Errors are
// printed once, as one line, without a backtrace.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>

#include <torch/torch.h>

#include "carve/atomic_file.h"
#include "carve/error.h"
#include "carve/runtime.h"
#include "carve/version.h"
#include "commands.h"
#include "console.h"

namespace {

// For the tests of write faults (tests/train/write_faults_test.cpp), from the environment:
// CARVE_TEST_WRITES=FILE appends the path of every write to FILE; CARVE_TEST_WRITE_FAULT=NAME@K
// fails the K-th write (default 1) of a file named NAME as a full disk would, and NAME@K:rmdir
// removes the file's directory first (as if deleted under the run), so that the write fails for real.
void arm_test_write_faults() {
  const char* log = std::getenv("CARVE_TEST_WRITES");
  const char* fault = std::getenv("CARVE_TEST_WRITE_FAULT");
  if (log == nullptr && fault == nullptr) return;
  std::string name = fault == nullptr ? "" : fault;
  const bool rmdir = name.size() > 6 && name.compare(name.size() - 6, 6, ":rmdir") == 0;
  if (rmdir) name.resize(name.size() - 6);
  long countdown = 1;
  if (const auto at = name.find('@'); at != std::string::npos) {
    countdown = std::atol(name.c_str() + at + 1);
    name.resize(at);
  }
  carve::set_write_hook([log = std::string(log == nullptr ? "" : log), name, rmdir, countdown](const std::string& path) mutable {
    if (!log.empty()) {
      if (FILE* f = std::fopen(log.c_str(), "a")) {
        std::fprintf(f, "%s\n", path.c_str());
        std::fclose(f);
      }
    }
    if (name.empty() || std::filesystem::path(path).filename() != name || --countdown != 0) return;
    if (!rmdir) throw carve::WriteError(path + ": write failed: No space left on device");
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::path(path).parent_path(), ec);
  });
}

// What carve printed must have reached standard output: a full disk or a closed pipe is a failure.
int check_standard_output(int status) {
  std::cout.flush();
  if (std::cout.good() && std::fflush(stdout) == 0 && !std::ferror(stdout)) return status;
  std::fprintf(stderr, "carve: standard output: write failed: %s\n", std::strerror(errno == 0 ? EIO : errno));
  return status == 0 ? 1 : status;
}

}  // namespace

int main(int argc, char** argv) {
  carve::tune_allocator();
  // Beyond a file size limit (ulimit -f), a write fails with EFBIG and carve says which file;
  // SIGXFSZ's default action would end the process with a core dump instead.
  std::signal(SIGXFSZ, SIG_IGN);
  arm_test_write_faults();
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
    if (e.get_exit_code() == 0) return check_standard_output(app.exit(e));  // --help, --version
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
    return check_standard_output(action());
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
