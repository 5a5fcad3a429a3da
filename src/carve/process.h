/// Running a shell command and reading what it prints to standard output: sbatch and scontrol
/// (orchestration/slurm.h), the Python peers of the benchmarks (bench/measure.h), the tests.
///
///   const auto r = carve::run_shell("sbatch --parsable job.sbatch 2>&1");
///   if (r.exit_code() != 0) std::cerr << r.out;
#pragma once

#include <cstdint>
#include <string>

namespace carve {

/// What a shell command gave.
struct ShellResult {
  int status = -1;  ///< the wait status pclose gave; -1 when the shell could not be started
  std::string out;  ///< everything the command wrote to standard output
  /// The command's exit code; -1 when it did not exit (a signal) or did not start.
  int exit_code() const;
};

/// Runs `command` with /bin/sh and waits for it.
ShellResult run_shell(const std::string& command);

/// A `Field:  N kB` line of a /proc file (/proc/meminfo, /proc/self/status) as N, or -1 when the
/// file or the field is missing: carve::available_memory's MemAvailable and VmSize, the
/// benchmarks' peak memory (VmHWM).
int64_t proc_kib(const std::string& file, const std::string& field);

}  // namespace carve
