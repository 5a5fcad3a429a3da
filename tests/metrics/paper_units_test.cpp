// The paper's units (issue 16, point 1): every candidate normalization of the Jacobian measure
// and SAT threshold, and the fit rule that ranks them, against values computed by hand.
#include "carve/metrics/paper_units.h"

#include <gtest/gtest.h>

#include <cmath>

#include "carve/train/trainer.h"

namespace carve {
namespace {

TEST(PaperUnits, EveryCandidateIsItsFormula) {
  // Two examples with ||J||^2_F = 1 and 4, a code of 2 units over 3 inputs.
  const auto sq = torch::tensor({1.0, 4.0}, torch::kFloat64);
  const auto code = torch::tensor({0.005, 0.5, 0.99, 0.97}, torch::kFloat64).reshape({2, 2});
  const auto c = paper_unit_candidates(sq, code, 3);
  const auto& j = c["jacobian"];
  EXPECT_DOUBLE_EQ(j["fro_mean"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(j["fro_sq_mean"].get<double>(), 2.5);
  EXPECT_DOUBLE_EQ(j["fro_mean_per_unit"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(j["fro_sq_mean_per_unit"].get<double>(), 1.25);
  EXPECT_DOUBLE_EQ(j["fro_sq_mean_per_input"].get<double>(), 2.5 / 3);
  EXPECT_DOUBLE_EQ(j["fro_mean_per_entry"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(j["fro_sq_mean_per_entry"].get<double>(), 2.5 / 6);
  EXPECT_DOUBLE_EQ(j["rms_entry"].get<double>(), std::sqrt(2.5 / 6));
  // J / 0.25: norms 4x, squares 16x.
  EXPECT_DOUBLE_EQ(j["fro_mean_per_entry_unit_slope"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["fro_sq_mean_per_entry_unit_slope"].get<double>(), 16 * 2.5 / 6);
  EXPECT_EQ(j.size(), 14u);
  // SAT: units with h < tau or h > 1 - tau (strictly), per example, then the mean over examples.
  const auto& s = c["saturation"];
  EXPECT_DOUBLE_EQ(s["sat_tau_0.01"].get<double>(), 0.25);  // 0.005 only (0.99 is not > 0.99)
  EXPECT_DOUBLE_EQ(s["sat_tau_0.02"].get<double>(), 0.5);   // 0.005 and 0.99
  EXPECT_DOUBLE_EQ(s["sat_tau_0.05"].get<double>(), 0.75);  // and 0.97
  EXPECT_DOUBLE_EQ(s["sat_tau_0.2"].get<double>(), 0.75);   // 0.5 never
  EXPECT_EQ(s.size(), 6u);
  // An unbounded code: no SAT, and no per-unit candidates without a code to count.
  const auto relu = paper_unit_candidates(sq, torch::Tensor(), 3);
  EXPECT_TRUE(relu["saturation"].empty());
  EXPECT_EQ(relu["jacobian"].size(), 2u);
  // The chosen ones are among the candidates.
  EXPECT_TRUE(j.contains(kChosenJacobian));
  EXPECT_TRUE(s.contains(kChosenSaturation));
}

TEST(PaperUnits, FitRanksByRootMeanSquareOfLogRatiosOrPoints) {
  // a: log10 ratios 0 and -1 -> RMS sqrt(1/2), bias -1/2; b: log10 2 and -1.
  const std::vector<std::map<std::string, double>> ours{{{"a", 1e-4}, {"b", 2e-4}}, {{"a", 1e-3}, {"b", 1e-3}}};
  const auto fits = fit_candidates(ours, {1e-4, 1e-2}, FitScale::log10);
  ASSERT_EQ(fits.size(), 2u);
  EXPECT_EQ(fits[0].name, "a");
  EXPECT_NEAR(fits[0].rms, std::sqrt(0.5), 1e-12);
  EXPECT_NEAR(fits[0].bias, -0.5, 1e-12);
  EXPECT_EQ(fits[0].rows, 2);
  EXPECT_EQ(fits[1].name, "b");
  EXPECT_NEAR(fits[1].rms, std::sqrt((std::pow(std::log10(2.0), 2) + 1) / 2), 1e-12);
  // SAT in percentage points: 0.5 against 0.4 and 0.7 against 0.9 -> +10, -20.
  const auto sat = fit_candidates({{{"t", 0.5}}, {{"t", 0.7}}}, {0.4, 0.9}, FitScale::percentage_points);
  ASSERT_EQ(sat.size(), 1u);
  EXPECT_NEAR(sat[0].rms, std::sqrt(250.0), 1e-9);
  EXPECT_NEAR(sat[0].bias, -5, 1e-9);
  // Rows without a published value are left out; a candidate some row lacks is not ranked.
  const auto partial = fit_candidates({{{"a", 1e-4}, {"b", 1.0}}, {{"a", 5.0}}}, {1e-4, -1}, FitScale::log10);
  ASSERT_EQ(partial.size(), 1u);
  EXPECT_EQ(partial[0].name, "a");
  EXPECT_EQ(partial[0].rows, 1);
  EXPECT_EQ(partial[0].rms, 0);
}

TEST(PaperUnits, ASigmoidEncodersCandidatesComeFromItsJacobian) {
  torch::manual_seed(3);
  AutoEncoder ae(AutoEncoderOptions(5, 4));
  ae->to(torch::kFloat64);
  const auto x = torch::rand({6, 5}, torch::kFloat64);
  const auto units = paper_units(*ae, x);
  // By brute force: J = diag(h (1 - h)) W per example.
  const auto h = torch::sigmoid(torch::addmm(ae->bias, x, ae->weight.t())).detach();
  const auto d = h * (1 - h);
  const auto sq = (d.unsqueeze(2) * ae->weight.detach().unsqueeze(0)).pow(2).sum({1, 2});
  EXPECT_NEAR(units["candidates"]["jacobian"]["fro_sq_mean"].get<double>(), sq.mean().item<double>(), 1e-12);
  EXPECT_NEAR(units["candidates"]["jacobian"]["fro_sq_mean_per_entry"].get<double>(), sq.mean().item<double>() / 20, 1e-12);
  EXPECT_NEAR(units["candidates"]["saturation"]["sat_tau_0.05"].get<double>(),
              ((h < 0.05) | (h > 0.95)).to(torch::kFloat64).mean().item<double>(), 1e-12);
  // The reported pair is the chosen candidates, named.
  EXPECT_EQ(units["jacobian_unit"], kChosenJacobian);
  EXPECT_EQ(units["jacobian"], units["candidates"]["jacobian"][kChosenJacobian]);
  EXPECT_EQ(units["saturation_unit"], kChosenSaturation);
  EXPECT_EQ(units["saturation"], units["candidates"]["saturation"][kChosenSaturation]);
}

}  // namespace
}  // namespace carve
