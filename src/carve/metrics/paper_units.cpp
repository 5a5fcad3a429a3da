#include "carve/metrics/paper_units.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace carve {

nlohmann::json paper_unit_candidates(const torch::Tensor& per_example_sq, const torch::Tensor& code, int64_t inputs) {
  torch::NoGradGuard no_grad;
  // In the measures' own precision, as carve's jacobian_fro_mean is (the two are equal).
  const double fro = per_example_sq.sqrt().mean().item<double>(), fro_sq = per_example_sq.mean().item<double>();
  const double units = static_cast<double>(code.defined() ? code.size(1) : 0);
  const double d_x = static_cast<double>(inputs);
  nlohmann::json jacobian{{"fro_mean", fro}, {"fro_sq_mean", fro_sq}};
  if (units > 0) {
    const double entries = d_x * units;
    // J / 0.25: the sigmoid's slope at 0 scaled to 1 (a factor 4 on norms, 16 on squares).
    for (const auto& [suffix, k] : {std::pair<std::string, double>{"", 1.0}, {"_unit_slope", 4.0}}) {
      jacobian["fro_mean_per_unit" + suffix] = k * fro / units;
      jacobian["fro_sq_mean_per_unit" + suffix] = k * k * fro_sq / units;
      jacobian["fro_sq_mean_per_input" + suffix] = k * k * fro_sq / d_x;
      jacobian["fro_mean_per_entry" + suffix] = k * fro / entries;
      jacobian["fro_sq_mean_per_entry" + suffix] = k * k * fro_sq / entries;
      jacobian["rms_entry" + suffix] = k * std::sqrt(fro_sq / entries);
    }
  }
  nlohmann::json saturation = nlohmann::json::object();
  if (code.defined()) {
    const auto u = code.to(torch::kFloat64);
    for (double tau : {0.01, 0.02, 0.05, 0.1, 0.15, 0.2}) {
      // The mean over examples of each example's fraction (rows are equally wide, so also the overall mean).
      saturation[fmt::format("sat_tau_{}", tau)] = ((u < tau) | (u > 1 - tau)).to(torch::kFloat64).mean(1).mean().item<double>();
    }
  }
  return {{"jacobian", jacobian}, {"saturation", saturation}};
}

std::vector<CandidateFit> fit_candidates(const std::vector<std::map<std::string, double>>& ours,
                                         const std::vector<double>& published, FitScale scale) {
  std::vector<CandidateFit> fits;
  if (ours.empty() || ours.size() != published.size()) return fits;
  for (const auto& [name, unused] : ours.front()) {
    (void)unused;
    CandidateFit f{name};
    double sum = 0, sum_sq = 0;
    bool everywhere = true;
    for (size_t r = 0; r < ours.size(); ++r) {
      const auto it = ours[r].find(name);
      if (it == ours[r].end()) {
        everywhere = false;
        break;
      }
      const double paper = published[r], mine = it->second;
      if (!std::isfinite(paper) || paper <= 0 || !std::isfinite(mine)) continue;
      if (scale == FitScale::log10 && mine <= 0) continue;
      const double d = scale == FitScale::log10 ? std::log10(mine / paper) : 100 * (mine - paper);
      sum += d;
      sum_sq += d * d;
      ++f.rows;
    }
    if (!everywhere || f.rows == 0) continue;
    f.rms = std::sqrt(sum_sq / f.rows);
    f.bias = sum / f.rows;
    fits.push_back(f);
  }
  std::stable_sort(fits.begin(), fits.end(), [](const CandidateFit& a, const CandidateFit& b) { return a.rms < b.rms; });
  return fits;
}

}  // namespace carve
