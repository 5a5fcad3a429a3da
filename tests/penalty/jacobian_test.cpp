#include "carve/penalty/jacobian.h"

#include <gtest/gtest.h>

#include "carve/models/stack.h"
#include "support/gradcheck.h"

namespace carve {
namespace {

// Full Jacobians: the explicit product equals autograd's in both modes, with blocks of every
// size from one direction to all of them.
TEST(Jacobian, AnalyticEqualsExactFullMatrixInBothModes) {
  torch::manual_seed(12);
  StackedEncoder stack(StackedEncoderOptions(6, {8, 3}).activation(Activation::tanh));
  stack->to(torch::kFloat64);
  const auto x = torch::rand({5, 6}, torch::kFloat64);
  const auto expected = analytic_jacobian(stack->affine_layers(), stack->encode_layers(x));
  ASSERT_EQ(expected.sizes(), (std::vector<int64_t>{5, 3, 6}));
  const auto f = [&](const torch::Tensor& v) { return stack->code(v); };
  for (auto mode : {JacobianMode::forward, JacobianMode::reverse}) {
    for (int64_t chunk : {int64_t(1), int64_t(3000), int64_t(1) << 30}) {
      const auto J = exact_jacobian(f, x, 3, ExactJacobianOptions().mode(mode).chunk_bytes(chunk));
      EXPECT_LE(testing::relative_error(J, expected), 1e-13) << to_string(mode) << " " << chunk;
    }
  }
}

TEST(Jacobian, AutomaticModePicksTheCheaperPassesWhereVerified) {
  const auto verified = ExactJacobianOptions().third_order_verified(true);
  EXPECT_EQ(resolve_jacobian_mode(verified, 784, 1000), JacobianMode::forward);
  EXPECT_EQ(resolve_jacobian_mode(verified, 784, 64), JacobianMode::reverse);
  // Differentiating J in forward mode needs third derivatives: only for verified encoders.
  EXPECT_EQ(resolve_jacobian_mode(ExactJacobianOptions(), 784, 1000), JacobianMode::reverse);
  EXPECT_EQ(resolve_jacobian_mode(ExactJacobianOptions().create_graph(false), 784, 1000),
            JacobianMode::forward);
  EXPECT_EQ(resolve_jacobian_mode(ExactJacobianOptions().mode(JacobianMode::forward), 784, 10),
            JacobianMode::forward);
}

}  // namespace
}  // namespace carve
