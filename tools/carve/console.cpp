#include "console.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace carve::cli {

namespace {
bool bar_open = false;

void clear_bar() {
  if (!bar_open) return;
  std::fprintf(stderr, "\r\033[2K");
  std::fflush(stderr);
  bar_open = false;
}
}  // namespace

ConsoleObserver::ConsoleObserver() : tty_(::isatty(STDERR_FILENO) != 0) {}

void ConsoleObserver::on_step(const StepProgress& p) {
  const int width = 24;
  const int filled = static_cast<int>(width * p.step / std::max<int64_t>(1, p.steps));
  const double eta = p.step > 0 ? p.seconds * static_cast<double>(p.steps - p.step) / static_cast<double>(p.step) : 0;
  const auto terms = !p.reconstruction_on ? std::string()
                                          : fmt::format("loss {:.4g} rec {:.4g}{}", p.loss, p.reconstruction,
                                                        p.contractive_on ? fmt::format(" cae {:.4g}", p.contractive) : "");
  std::fprintf(stderr, "\r\033[2Kepoch %lld/%lld [%s%s] %3d%% ETA %4.0fs %s", static_cast<long long>(p.epoch),
               static_cast<long long>(p.epochs), std::string(filled, '=').c_str(),
               std::string(width - filled, ' ').c_str(), static_cast<int>(100 * p.step / std::max<int64_t>(1, p.steps)),
               eta, terms.c_str());
  std::fflush(stderr);
  bar_open = true;
}

void ConsoleObserver::on_epoch(const EpochRecord&, const std::string& line) { on_message(line); }

void ConsoleObserver::on_message(const std::string& text) {
  clear_bar();
  std::fputs(text.c_str(), stdout);
  if (text.empty() || text.back() != '\n') std::fputc('\n', stdout);
  std::fflush(stdout);
}

void end_progress_line() {
  if (!bar_open) return;
  std::fputc('\n', stderr);
  bar_open = false;
}

}  // namespace carve::cli
