// What `carve run` prints: a progress bar on stderr when it is a terminal, one line per epoch and
// every message of the run (sweep points, tables, fine-tuning epochs) on stdout.
#pragma once

#include "carve/train/observer.h"

namespace carve::cli {

class ConsoleObserver : public RunObserver {
 public:
  ConsoleObserver();
  bool wants_steps() const override { return tty_; }
  void on_step(const StepProgress& p) override;
  void on_epoch(const EpochRecord& record, const std::string& line) override;
  void on_message(const std::string& text) override;

 private:
  bool tty_;
};

// Ends a progress bar left on the terminal, so that an error starts on a line of its own.
void end_progress_line();

}  // namespace carve::cli
