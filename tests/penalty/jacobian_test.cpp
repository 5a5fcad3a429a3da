#include "carve/penalty/jacobian.h"

#include <gtest/gtest.h>

#include "carve/device.h"
#include "carve/models/stack.h"
#include "support/devices.h"
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

namespace carve {
namespace {

// On the CPU the cap is chunk_bytes whatever the free memory: block boundaries (and the last
// bits of the sums) never depend on the machine's load.
TEST(Jacobian, TheBlockCapOnTheCpuIsChunkBytes) {
  EXPECT_EQ(block_cap(int64_t(1) << 62, torch::kCPU), int64_t(1) << 62);
  EXPECT_EQ(block_cap(3000, torch::kCPU), 3000);
}

// CUDA variant: exact Jacobians on the GPU equal the closed form there, in both modes, and the
// block cap there is bounded by the card's free memory (never more than chunk_bytes).
TEST(JacobianCuda, ExactEqualsAnalyticAndTheCapFitsTheCard) {
  CARVE_REQUIRE_CUDA();
  torch::manual_seed(12);
  StackedEncoder stack(StackedEncoderOptions(6, {8, 3}).activation(Activation::tanh));
  stack->to(torch::kFloat64);
  stack->to(torch::kCUDA);
  const auto x = torch::rand({5, 6}, torch::TensorOptions().dtype(torch::kFloat64).device(torch::kCUDA));
  const auto expected = analytic_jacobian(stack->affine_layers(), stack->encode_layers(x));
  const auto f = [&](const torch::Tensor& v) { return stack->code(v); };
  for (auto mode : {JacobianMode::forward, JacobianMode::reverse}) {
    const auto J = exact_jacobian(f, x, 3, ExactJacobianOptions().mode(mode).chunk_bytes(3000));
    ASSERT_TRUE(J.is_cuda());
    EXPECT_LE(testing::relative_error(J.cpu(), expected.cpu()), 1e-13) << to_string(mode);
  }
  const auto free = available_memory(torch::kCUDA);
  ASSERT_GT(free.bytes, 0) << "cudaMemGetInfo was not found in the CUDA runtime LibTorch loaded";
  const int64_t huge = int64_t(1) << 62;
  EXPECT_EQ(block_cap(huge, torch::kCUDA), std::max<int64_t>(1, free.bytes / 4));
  EXPECT_EQ(block_cap(1000, torch::kCUDA), 1000);
}

}  // namespace
}  // namespace carve
