/// What a run reports as it goes, and to whom. The library never prints: the trainer and the
/// orchestration tell their observers, and the `carve` command installs the ones that print
/// (a progress bar on a terminal, one line per epoch, the sweep and suite tables).
///
///   struct Quiet : carve::RunObserver {
///     void on_epoch(const carve::EpochRecord& r, const std::string&) override { losses.push_back(r.loss); }
///     std::vector<double> losses;
///   };
///   options.observers.push_back(std::make_shared<Quiet>());
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace carve {

/// The loss terms of a step, in the order of the tensor that a model's compute_gradients returns
/// (unweighted, except `loss`, the total).
enum class Term : int64_t { reconstruction, weight_decay, contractive, higher_order, sparsity, loss };
constexpr int64_t kTerms = 6;
inline int64_t index(Term t) { return static_cast<int64_t>(t); }

/// One row of metrics.csv.
struct EpochRecord {
  int64_t epoch = 0;  ///< from 1
  double loss = 0, reconstruction = 0, weight_decay = 0, contractive = 0, higher_order = 0, sparsity = 0;
  double valid_reconstruction = 0, jacobian_fro = 0, saturation = 0, pseudo_log_likelihood = 0;
  double lr = 0, seconds = 0;
};

/// The columns of metrics.csv after `epoch`, in order, bound to their fields.
const std::vector<std::pair<std::string, double EpochRecord::*>>& epoch_columns();

/// Where a run is within an epoch (for a progress bar).
struct StepProgress {
  int64_t epoch = 0, epochs = 0;  ///< epoch from 1
  int64_t step = 0, steps = 0;    ///< batches done, of steps
  double seconds = 0;             ///< since the epoch started
  double loss = 0, reconstruction = 0, contractive = 0;  ///< means so far
  bool contractive_on = false;
  bool reconstruction_on = true;  ///< false: the model measures it once an epoch (an RBM), not per step
};

/// Told of a run's steps, epochs and messages: the CLI's progress bar and log are observers (the
/// library itself never prints).
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  /// Whether on_step is wanted (computing its means costs a device synchronisation).
  virtual bool wants_steps() const { return false; }
  /// Every few steps (the trainer decides how often).
  virtual void on_step(const StepProgress& progress) { (void)progress; }
  /// After each epoch: the record and the line that log.txt gets.
  virtual void on_epoch(const EpochRecord& record, const std::string& line) { (void)record, (void)line; }
  /// Anything else worth a line: "sweep point 2/3: ...", a table, "analysis: ..." (a text that
  /// does not end in a newline is one line).
  virtual void on_message(const std::string& text) { (void)text; }
};

using Observers = std::vector<std::shared_ptr<RunObserver>>;

/// Sends a message line to every observer.
inline void notify(const Observers& observers, const std::string& text) {
  for (const auto& o : observers) o->on_message(text);
}

}  // namespace carve
