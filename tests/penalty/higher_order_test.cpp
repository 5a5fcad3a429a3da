#include "carve/penalty/higher_order.h"

#include <gtest/gtest.h>

#include "carve/models/autoencoder.h"
#include "carve/models/stack.h"
#include "support/devices.h"
#include "support/gradcheck.h"

namespace carve {
namespace {

// E ||J(x) - J(x + eps)||^2 computed directly from two exact Jacobians with the same draws.
double direct_two_jacobians(Encoder& enc, const torch::Tensor& x, double sigma, int64_t n,
                            uint64_t seed) {
  torch::manual_seed(seed);
  const auto f = [&](const torch::Tensor& v) { return enc.code(v); };
  const auto j0 = exact_jacobian(f, x, enc.code_size());
  double total = 0;
  for (int64_t c = 0; c < n; ++c) {
    const auto xc = x + sigma * torch::randn_like(x);
    total += (j0 - exact_jacobian(f, xc, enc.code_size())).pow(2).sum({1, 2}).mean().item<double>();
  }
  return total / n;
}

TEST(HigherOrder, MatchesADirectTwoJacobianComputation) {
  torch::manual_seed(2);
  AutoEncoder ae(AutoEncoderOptions(7, 5).activation(Activation::sigmoid));
  StackedEncoder stack(StackedEncoderOptions(7, {6, 4}).activation(Activation::tanh));
  ae->to(torch::kFloat64);
  stack->to(torch::kFloat64);
  const auto x = torch::rand({5, 7}, torch::kFloat64);
  for (Encoder* enc : std::vector<Encoder*>{ae.get(), stack.get()}) {
    const double expected = direct_two_jacobians(*enc, x, 0.3, 3, 17);
    for (auto method : {ContractiveMethod::analytic, ContractiveMethod::exact}) {
      torch::manual_seed(17);
      HigherOrderOptions opts;
      opts.sigma(0.3).corruptions(3).method(method);
      const double got = higher_order_penalty(*enc, x, opts).item<double>();
      EXPECT_NEAR(got, expected, 1e-10 * expected) << to_string(method);
    }
  }
}

TEST(HigherOrder, TendsToZeroWithSigma) {
  torch::manual_seed(3);
  AutoEncoder ae(AutoEncoderOptions(8, 6).activation(Activation::tanh));
  ae->to(torch::kFloat64);
  const auto x = torch::rand({6, 8}, torch::kFloat64);
  std::vector<double> values;
  for (double sigma : {1.0, 1e-1, 1e-2, 1e-3, 0.0}) {
    torch::manual_seed(5);
    HigherOrderOptions opts;
    opts.sigma(sigma).corruptions(4);
    values.push_back(higher_order_penalty(*ae, x, opts).item<double>());
  }
  EXPECT_GT(values[0], values[1]);
  EXPECT_GT(values[1], values[2]);
  EXPECT_GT(values[2], values[3]);
  EXPECT_EQ(values[4], 0.0);
  // Second order in sigma: the difference of Jacobians is O(sigma).
  EXPECT_NEAR(values[3] / values[2], 1e-2, 2e-3);
}

TEST(HigherOrder, GradientPassesCentralDifferences) {
  torch::manual_seed(4);
  StackedEncoder stack(StackedEncoderOptions(5, {4, 3}).activation(Activation::sigmoid));
  stack->to(torch::kFloat64);
  const auto x = torch::rand({3, 5}, torch::kFloat64);
  for (auto method : {ContractiveMethod::analytic, ContractiveMethod::exact}) {
    HigherOrderOptions opts;
    opts.sigma(0.5).corruptions(2).method(method);
    const auto r = testing::gradient_check(
        [&] {
          torch::manual_seed(9);
          return higher_order_penalty(*stack, x, opts);
        },
        stack->encoder_parameters());
    EXPECT_LE(r.relative_error, 1e-6) << to_string(method);
  }
}

}  // namespace
}  // namespace carve

namespace carve {
namespace {

// CUDA variant: with the same corrupted batches (CUDA draws its own numbers, so they are made
// on the CPU and copied), analytic and exact on the GPU equal the CPU's in float64.
TEST(HigherOrderCuda, MatchesTheCpuOnTheSameCorruptions) {
  CARVE_REQUIRE_CUDA();
  torch::manual_seed(4);
  StackedEncoder stack(StackedEncoderOptions(7, {6, 4}).activation(Activation::tanh));
  stack->to(torch::kFloat64);
  const auto x = torch::rand({5, 7}, torch::kFloat64);
  std::vector<torch::Tensor> corrupted, corrupted_gpu;
  for (int c = 0; c < 3; ++c) {
    corrupted.push_back(x + 0.3 * torch::randn_like(x));
    corrupted_gpu.push_back(corrupted.back().to(torch::kCUDA));
  }
  for (auto method : {ContractiveMethod::analytic, ContractiveMethod::exact}) {
    const auto opts = HigherOrderOptions().method(method);
    stack->to(torch::kCPU);
    const double cpu = higher_order_penalty_at(*stack, x, corrupted, opts).item<double>();
    stack->to(torch::kCUDA);
    const double gpu = higher_order_penalty_at(*stack, x.to(torch::kCUDA), corrupted_gpu, opts).item<double>();
    EXPECT_NEAR(gpu, cpu, 1e-10 * cpu) << to_string(method);
  }
}

}  // namespace
}  // namespace carve
