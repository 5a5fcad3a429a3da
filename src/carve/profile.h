/// Where a run's wall time goes (issue 29, point 2; `carve bench run`): the library marks its
/// phases with scopes and counts the matrix products each phase requires; when a profile is on,
/// the scopes add up their time and the counts add up, and `calibrate` times each product shape
/// alone (at::mm_out into a kept output, the run's threads, the median of several calls), so that
/// the whole run's share of its roofline is Σ_k n_k t_k / T_wall. Off (the default) every call
/// is one check of a flag.
///
///   carve::profile::start(5);                       // recalibrate every 5 epochs
///   ... run ...                                     // Scope / count_product / epoch_done inside
///   carve::profile::Report r = carve::profile::stop();
///
/// Time is exclusive: a scope's time excludes the scopes opened inside it (a checkpoint written in
/// an epoch's metrics counts as a write). Time in no scope is `other`. The time spent calibrating
/// is left out of the wall time. One thread: the run's own (the profile is not thread-safe).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>

namespace carve::profile {

/// The phases of a run, in the order the breakdown prints them.
enum class Phase : int {
  data_loading,       ///< reading and converting the data set, splits, standardization
  pretraining_steps,  ///< the batch loop of pretraining: gradients and optimizer steps
  epoch_metrics,      ///< per-epoch monitoring: validation reconstruction, Jacobian, saturation, likelihoods
  finetune_steps,     ///< the batch loop of fine-tuning
  evaluation,         ///< error rates each fine-tuning epoch, the final test metrics
  writes,             ///< checkpoints, CSV and JSON files, the exported encoder and classifier
  other,              ///< everything in no scope (setup, plan, bookkeeping)
};
constexpr int kPhases = 7;
const char* to_string(Phase phase);

/// A product a [m, k] x [k, n], with which operand is read transposed (its layout in the run).
struct Shape {
  int64_t m = 0, k = 0, n = 0;
  bool a_transposed = false, b_transposed = false;
  bool operator<(const Shape& o) const {
    return std::tie(m, k, n, a_transposed, b_transposed) < std::tie(o.m, o.k, o.n, o.a_transposed, o.b_transposed);
  }
};

/// What one product shape added up to over a run, in one phase.
struct ProductTotal {
  int64_t count = 0;       ///< n_k
  double seconds = 0;      ///< Σ over calibration intervals of (count in it) x (its median time then)
  double last_ms = 0;      ///< the last calibration's median time of one product
};

/// What stop() returns: the wall time, each phase's exclusive time, each product's totals.
struct Report {
  double wall_seconds = 0;                     ///< T_wall, calibration left out
  double calibration_seconds = 0;              ///< the time calibrations took (not in T_wall)
  int calibrations = 0;
  std::array<double, kPhases> seconds{};       ///< exclusive time of each phase
  /// By (phase, name, shape): a name may have several shapes (a layer each).
  std::map<std::tuple<int, std::string, Shape>, ProductTotal> products;
  double roofline_seconds() const;             ///< Σ_k n_k t_k
};

/// Whether a profile is on (between start and stop).
bool enabled();
/// Starts a profile: counters zeroed, the wall clock started; calibrates at epoch_done every
/// `calibrate_every` epochs (pretraining and fine-tuning epochs counted together).
void start(int calibrate_every);
/// Ends it: a last calibration (for the counts since the one before), the report.
Report stop();

/// Counts `count` products of `shape` in `phase` (its roofline's n_k), named for the breakdown.
void count_product(Phase phase, const char* name, const Shape& shape, int64_t count = 1);
/// The end of an epoch (pretraining or fine-tuning): calibrates when it is due.
void epoch_done();

/// The scope of the file comment: its time goes to `phase`, less its inner scopes'.
class Scope {
 public:
  explicit Scope(Phase phase);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
  /// Leaves `seconds` spent inside it out of its time (a calibration).
  void exclude(double seconds) { inner_ += seconds; }

 private:
  bool active_;
  Phase phase_;
  double start_ = 0, inner_ = 0;
  Scope* outer_ = nullptr;
};

}  // namespace carve::profile
