#include "carve/train/stop.h"

#include <csignal>

namespace carve {

namespace {

volatile std::sig_atomic_t g_signal = 0;
int64_t g_countdown = 0;
std::function<void()> g_action;

extern "C" void on_stop_signal(int signal) {
  g_signal = signal;
  std::signal(signal, SIG_DFL);  // a second one ends the process
}

}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGUSR1, on_stop_signal);  // SLURM's warning before preemption or the time limit
}

void request_stop(int signal) { g_signal = signal; }
int stop_requested() { return g_signal; }
void clear_stop_request() { g_signal = 0; }

std::string signal_name(int signal) {
  switch (signal) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGUSR1: return "SIGUSR1";
    default: return "signal " + std::to_string(signal);
  }
}

void count_step() {
  if (g_countdown <= 0 || --g_countdown > 0) return;
  auto action = std::move(g_action);
  g_action = nullptr;
  if (action) action();
}

void after_steps(int64_t steps, std::function<void()> action) {
  g_countdown = steps;
  g_action = steps > 0 ? std::move(action) : nullptr;
}

}  // namespace carve
