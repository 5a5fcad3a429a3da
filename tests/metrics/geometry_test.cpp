// The analysis measurements against closed forms, in float64.
#include "carve/metrics/geometry.h"

#include <gtest/gtest.h>

#include "carve/models/autoencoder.h"
#include "carve/models/stack.h"
#include "support/gradcheck.h"

namespace carve {
namespace {

// For f(x) = W x + b the ratio ||f(x0 + r u) - f(x0)|| / r = ||W u|| at every radius.
TEST(Geometry, ContractionOfALinearEncoderIsItsClosedFormAtEveryRadius) {
  torch::manual_seed(1);
  AutoEncoder ae(AutoEncoderOptions(9, 6).activation(Activation::linear));
  ae->to(torch::kFloat64);
  const auto x0 = torch::rand({20, 9}, torch::kFloat64);
  const std::vector<double> radii{0.01, 0.5, 3, 40};
  torch::manual_seed(7);
  const auto c = contraction_curve(*ae, x0, radii);
  torch::manual_seed(7);
  auto u = torch::randn_like(x0);
  u = u / u.norm(2, {1}, true);
  const double expected = u.matmul(ae->weight.t()).norm(2, {1}).mean().item<double>();
  ASSERT_EQ(c.ratio.size(), 1u);
  for (size_t i = 0; i < radii.size(); ++i) EXPECT_NEAR(c.ratio[0][i], expected, 1e-12 * expected) << radii[i];
}

TEST(Geometry, ContractionCoversEveryLayerOfAStack) {
  StackedEncoder stack(StackedEncoderOptions(8, {6, 4}));
  stack->to(torch::kFloat64);
  const auto c = contraction_curve(*stack, torch::rand({5, 8}, torch::kFloat64), {0.1, 1});
  EXPECT_EQ(c.ratio.size(), 2u);
  // A sigmoid layer contracts (|f'| <= 1/4): the ratio is at most ||W||_2 / 4 per layer.
  EXPECT_LT(c.ratio[0][0], torch::linalg_matrix_norm(stack->layer(0)->weight, 2).item<double>() / 4 + 1e-12);
}

TEST(Geometry, SpectrumOfALinearEncoderIsTheSingularValuesOfW) {
  torch::manual_seed(2);
  AutoEncoder ae(AutoEncoderOptions(7, 5).activation(Activation::linear));
  ae->to(torch::kFloat64);
  const auto s = jacobian_spectrum(*ae, torch::rand({4, 7}, torch::kFloat64));
  const auto expected = torch::linalg_svdvals(ae->weight.detach());
  ASSERT_EQ(s.values.sizes(), (std::vector<int64_t>{4, 5}));
  for (int64_t i = 0; i < 4; ++i) EXPECT_LE(testing::relative_error(s.values[i], expected), 1e-12);
  EXPECT_LE(testing::relative_error(s.mean, expected), 1e-12);
}

TEST(Geometry, AnalyticAndAutogradSpectraAgree) {
  torch::manual_seed(3);
  AutoEncoder ae(AutoEncoderOptions(12, 9).activation(Activation::tanh));
  StackedEncoder stack(StackedEncoderOptions(12, {10, 6}).activation(Activation::softplus));
  ae->to(torch::kFloat64);
  stack->to(torch::kFloat64);
  const auto x = torch::rand({6, 12}, torch::kFloat64);
  for (Encoder* e : std::vector<Encoder*>{ae.get(), stack.get()}) {
    const auto a = jacobian_spectrum(*e, x, JacobianSource::analytic);
    const auto b = jacobian_spectrum(*e, x, JacobianSource::exact);
    EXPECT_LE(testing::relative_error(a.values, b.values), 1e-12);
    EXPECT_DOUBLE_EQ(a.mean_count_above, b.mean_count_above);
  }
}

TEST(Geometry, HistogramCountsEveryActivationInTheNaturalRange) {
  AutoEncoder ae(AutoEncoderOptions(10, 8));
  const auto h = activation_histogram(*ae, torch::rand({25, 10}), 20);
  int64_t total = 0;
  for (auto c : h.counts) total += c;
  EXPECT_EQ(total, 25 * 8);
  EXPECT_DOUBLE_EQ(h.edges.front(), 0.0);
  EXPECT_DOUBLE_EQ(h.edges.back(), 1.0);
}

}  // namespace
}  // namespace carve
