/// Table 1 of Rifai et al. (2011) in the paper's own units (issue 16, point 1).
///
/// The paper reports an "average ‖J_f(x)‖_F" of the order of 1e-4 and SAT, "the average fraction
/// of saturated units per example", without saying how either is normalized or where a unit counts
/// as saturated. carve's own columns (mean ‖J_f(x)‖_F, SAT at training.saturation_threshold) are
/// not in those units, so each run also computes every candidate below on the same examples, and
/// suites that carry the published values (`paper:` in a suite run) rank the candidates by how well
/// they fit them:
///
///   Jacobian candidates, over the examples x of the split (d_x inputs, d_h code units):
///     fro_mean            mean ‖J‖_F                      (carve's jacobian_fro_mean)
///     fro_sq_mean         mean ‖J‖²_F
///     fro_mean_per_unit   mean ‖J‖_F / d_h      fro_sq_mean_per_unit    mean ‖J‖²_F / d_h
///     fro_sq_mean_per_input  mean ‖J‖²_F / d_x
///     fro_mean_per_entry  mean ‖J‖_F / (d_x d_h)  fro_sq_mean_per_entry  mean ‖J‖²_F / (d_x d_h)
///     rms_entry           sqrt(mean ‖J‖²_F / (d_x d_h))
///     *_unit_slope        the same of J / 0.25, the sigmoid's slope scaled to 1 at 0
///   SAT candidates: sat_tau_T, the mean over examples of the fraction of code units within T of
///   the bounds (h < T or h > 1 − T, tanh rescaled to [0, 1]), T in 0.01, 0.02, 0.05, 0.1, 0.15, 0.2.
///
/// The fit rule (fit_candidates): for the Jacobian, the root mean square of log10(ours / paper)
/// over the rows — the same units, no free scale, each factor of 10 counting alike whatever the
/// row's magnitude; for SAT, the root mean square of ours − paper in percentage points. The
/// candidate with the smallest is the best fit; kChosenJacobian and kChosenSaturation are the ones
/// the six MNIST rows chose (docs/RESULTS.md), reported as summary.json's paper_units.
///
///   auto c = carve::paper_unit_candidates(per_example_sq, code, 784);   // {"jacobian": {...}, ...}
///   auto fits = carve::fit_candidates({{...}, {...}}, {0.73e-4, 0.86e-4}, carve::FitScale::log10);
#pragma once

#include <torch/torch.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace carve {

/// The Jacobian candidate and SAT threshold chosen by the fit to the paper's MNIST rows.
inline constexpr const char* kChosenJacobian = "fro_sq_mean_per_entry";
inline constexpr const char* kChosenSaturation = "sat_tau_0.05";

/// Every candidate of the file comment: {"jacobian": {name: value}, "saturation": {name: fraction}}.
/// per_example_sq: ‖J_f(x)‖²_F of each example [N]; code: the code rescaled to [0, 1] [N, d_h]
/// (undefined for an unbounded activation: no SAT candidates); inputs: d_x.
nlohmann::json paper_unit_candidates(const torch::Tensor& per_example_sq, const torch::Tensor& code, int64_t inputs);

/// How ours and the paper's are compared: log10 ratios (the Jacobian) or differences in
/// percentage points of fractions (SAT).
enum class FitScale { log10, percentage_points };

/// One candidate's fit to the published values over the rows that have both.
struct CandidateFit {
  std::string name;
  double rms = 0;   ///< the rule's root mean square (file comment); smaller fits better
  double bias = 0;  ///< the mean of the same differences: what a free scale or shift would remove
  int rows = 0;
};

/// Every candidate present in all of `ours` (one map per row) fitted to `published` (one value per
/// row; rows with a non-finite or non-positive published value are left out), best first.
std::vector<CandidateFit> fit_candidates(const std::vector<std::map<std::string, double>>& ours,
                                         const std::vector<double>& published, FitScale scale);

}  // namespace carve
