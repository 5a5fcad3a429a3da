#include "carve/penalty/jacobian.h"

#include <gtest/gtest.h>

#include "carve/device.h"
#include "carve/error.h"
#include "carve/models/stack.h"
#include "support/devices.h"
#include "support/gradcheck.h"

namespace carve {
namespace {

// Full Jacobians: the explicit product equals autograd's in every mode, with blocks of every
// size from one direction to all of them; factored mode needs the encoder's layers.
TEST(Jacobian, AnalyticEqualsExactFullMatrixInEveryMode) {
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
  for (auto mode : {JacobianMode::factored, JacobianMode::forward, JacobianMode::reverse}) {
    for (int64_t chunk : {int64_t(1), int64_t(3000), int64_t(1) << 30}) {
      const auto J = exact_jacobian(*stack, x, ExactJacobianOptions().mode(mode).chunk_bytes(chunk));
      EXPECT_LE(testing::relative_error(J, expected), 1e-13) << to_string(mode) << " " << chunk;
    }
  }
  // A function alone has no first layer to factor out: one clear error, not a wrong J.
  EXPECT_THROW(exact_jacobian(f, x, 3, ExactJacobianOptions().mode(JacobianMode::factored)), UsageError);
  EXPECT_THROW(resolve_graph_jacobian_mode(JacobianMode::factored, true, 6, 3), c10::ValueError);
  EXPECT_EQ(parse_jacobian_mode("factored"), JacobianMode::factored);
  EXPECT_EQ(to_string(JacobianMode::factored), "factored");
}

// Factored mode differentiates J through autograd like the others: the gradient of ||J||^2
// with respect to every layer's weight and bias passes central differences, for a chain whose
// later layers are differentiated per example (two layers, untied) and blocks of a few columns.
TEST(Jacobian, FactoredGradientPassesCentralDifferences) {
  torch::manual_seed(13);
  StackedEncoder stack(StackedEncoderOptions(6, {5, 4}).activation(Activation::softplus).tied(false));
  stack->to(torch::kFloat64);
  const auto x = torch::rand({3, 6}, torch::kFloat64);
  const auto options = ExactJacobianOptions().mode(JacobianMode::factored).chunk_bytes(3000);
  const auto r = testing::gradient_check(
      [&] { return exact_jacobian(*stack, x, options).pow(2).sum(); }, stack->encoder_parameters());
  EXPECT_GT(r.autograd_norm, 0);
  EXPECT_LE(r.relative_error, 1e-7);
  // Frozen parameters: the same J, formed by autograd all the same.
  const auto expected = exact_jacobian(*stack, x, options).detach();
  for (auto& p : stack->parameters()) p.requires_grad_(false);
  EXPECT_LE(testing::relative_error(exact_jacobian(*stack, x, options), expected), 1e-15);
}

TEST(Jacobian, AutomaticModePicksTheCheaperPassesWhereVerified) {
  const auto verified = ExactJacobianOptions().third_order_verified(true);
  EXPECT_EQ(resolve_jacobian_mode(verified, 784, 1000), JacobianMode::forward);
  EXPECT_EQ(resolve_jacobian_mode(verified, 784, 64), JacobianMode::reverse);
  // A chain of carve's layers: factored (forward mode without the first product) unless the
  // code is much narrower than the input.
  const auto layer = [](int64_t in, int64_t out) {
    return AffineLayer{torch::zeros({out, in}), torch::zeros({out}), Activation::sigmoid};
  };
  const ExactJacobianOptions automatic;
  EXPECT_EQ(resolve_jacobian_mode(automatic, {layer(784, 1000)}, 784, 1000), JacobianMode::factored);
  EXPECT_EQ(resolve_jacobian_mode(automatic, {layer(784, 100)}, 784, 100), JacobianMode::factored);
  EXPECT_EQ(resolve_jacobian_mode(automatic, {layer(784, 500), layer(500, 500)}, 784, 500),
            JacobianMode::factored);
  EXPECT_EQ(resolve_jacobian_mode(automatic, {layer(784, 10)}, 784, 10), JacobianMode::reverse);
  EXPECT_EQ(resolve_jacobian_mode(ExactJacobianOptions().mode(JacobianMode::forward), {layer(784, 1000)},
                                  784, 1000),
            JacobianMode::forward);
  EXPECT_EQ(resolve_jacobian_mode(automatic, {}, 784, 1000), JacobianMode::reverse);  // as a function
  EXPECT_THROW(resolve_jacobian_mode(ExactJacobianOptions().mode(JacobianMode::factored), 784, 1000),
               UsageError);
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
  // Factored blocks on the GPU follow the cap alone (no cache sizing there).
  for (int64_t chunk : {int64_t(3000), int64_t(1) << 30}) {
    const auto J = exact_jacobian(*stack, x, ExactJacobianOptions().mode(JacobianMode::factored).chunk_bytes(chunk));
    ASSERT_TRUE(J.is_cuda());
    EXPECT_LE(testing::relative_error(J.cpu(), expected.cpu()), 1e-13) << "factored " << chunk;
  }
  const auto free = available_memory(torch::kCUDA);
  ASSERT_GT(free.bytes, 0) << "cudaMemGetInfo was not found in the CUDA runtime LibTorch loaded";
  const int64_t huge = int64_t(1) << 62;
  EXPECT_EQ(block_cap(huge, torch::kCUDA), std::max<int64_t>(1, free.bytes / 4));
  EXPECT_EQ(block_cap(1000, torch::kCUDA), 1000);
}

}  // namespace
}  // namespace carve
