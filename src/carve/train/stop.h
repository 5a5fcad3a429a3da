/// Stopping a run cleanly. On SIGINT, SIGTERM or SIGUSR1 (SLURM's warning signal; once install_stop_handlers() has run, as the
/// `carve` command does) a run finishes the step it is in, writes a checkpoint there — mid-epoch
/// if need be, with the epoch's position and running sums — and throws `Interrupted`; the
/// command prints how to resume and exits with 128 + the signal's number (130 for SIGINT, 143
/// for SIGTERM, 138 for SIGUSR1; a SLURM task requeues itself first, orchestration/slurm.h). Resuming continues bit-identically. A second signal while the first is being
/// handled ends the process at once (the default action).
///
///   carve::install_stop_handlers();
///   try { carve::run_file(file, {}, options); }
///   catch (const carve::Interrupted& e) { std::cerr << e.what() << "\n"; return e.exit_code(); }
///
/// The request is a flag that a signal handler may set (request_stop is async-signal-safe); the
/// trainer and fine-tuning look at it after every optimizer step. Anything else (data loading,
/// analysis) runs on to the next step, where the run stops.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace carve {

/// A run stopped on request; its checkpoint holds everything needed to resume.
class Interrupted : public std::runtime_error {
 public:
  Interrupted(int signal, const std::string& what) : std::runtime_error(what), signal_(signal) {}
  int signal() const { return signal_; }
  /// The documented exit status: 128 + the signal's number.
  int exit_code() const { return 128 + signal_; }

 private:
  int signal_;
};

/// Routes SIGINT, SIGTERM and SIGUSR1 to request_stop (each reverts to its default action once caught).
void install_stop_handlers();
/// Asks the running training to stop at its next step; `signal` is reported (async-signal-safe).
void request_stop(int signal);
/// The signal of a pending request, or 0.
int stop_requested();
/// Forgets a pending request (a test, or a caller that handled it).
void clear_stop_request();
/// "SIGINT", "SIGTERM", "SIGUSR1", or "signal N".
std::string signal_name(int signal);

/// Called by the training loops after every optimizer step: counts it for `after_steps`.
void count_step();
/// For tests of interruption: calls `action` once, after `steps` more counted steps (0 disarms).
/// The action usually calls request_stop or raises a signal.
void after_steps(int64_t steps, std::function<void()> action);

}  // namespace carve
