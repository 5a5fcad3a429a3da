// RBMs in float64: free energy, exact and AIS partition functions, CD / PCD gradients, and
// training that raises the exact log-likelihood.
#include "carve/models/rbm.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "carve/error.h"
#include "carve/metrics/partition.h"
#include "carve/train/contrastive_divergence.h"
#include "support/devices.h"
#include "support/gradcheck.h"

namespace carve {
namespace {

RBM random_rbm(int64_t v, int64_t h, VisibleUnits units, double scale, uint64_t seed) {
  torch::manual_seed(seed);
  RBM rbm(RBMOptions(v, h).visible_units(units));
  rbm->to(torch::kFloat64);
  torch::NoGradGuard no_grad;
  rbm->weight.normal_(0, scale);
  rbm->bias.uniform_(-1, 1);
  rbm->visible_bias.uniform_(-1, 1);
  return rbm;
}

// All 2^n binary vectors of length n, [2^n, n].
torch::Tensor all_binary(int64_t n) {
  return torch::arange(int64_t(1) << n).unsqueeze(1).bitwise_right_shift(torch::arange(n)).bitwise_and(1).to(torch::kFloat64);
}

TEST(RBM, FreeEnergyMarginalizesTheHiddenUnits) {
  for (auto units : {VisibleUnits::binary, VisibleUnits::gaussian}) {
    auto rbm = random_rbm(5, 4, units, 0.7, 1);
    const auto v = units == VisibleUnits::binary ? torch::bernoulli(torch::full({3, 5}, 0.5, torch::kFloat64))
                                                 : torch::randn({3, 5}, torch::kFloat64);
    const auto h = all_binary(4);  // [16, 4]
    // -E(v, h) for every pair: [3, 16].
    auto neg_energy = torch::mm(v, rbm->weight.t()).matmul(h.t()) + torch::mv(h, rbm->bias).unsqueeze(0);
    neg_energy = units == VisibleUnits::binary ? neg_energy + torch::mv(v, rbm->visible_bias).unsqueeze(1)
                                               : neg_energy - 0.5 * (v - rbm->visible_bias).pow(2).sum(1, true);
    const auto expected = -torch::logsumexp(neg_energy, 1);
    EXPECT_LE(testing::relative_error(rbm->free_energy(v).detach(), expected), 1e-13) << to_string(units);
  }
}

TEST(RBM, ExactLogPartitionEqualsBruteForce) {
  auto rbm = random_rbm(7, 5, VisibleUnits::binary, 0.8, 2);
  const double brute = torch::logsumexp(-rbm->free_energy(all_binary(7)).detach(), 0).item<double>();
  EXPECT_NEAR(exact_log_partition(*rbm), brute, 1e-12 * std::abs(brute));

  // Gaussian visible units: integrate over v (one visible unit) on a fine grid.
  auto g = random_rbm(1, 4, VisibleUnits::gaussian, 0.8, 3);
  const auto grid = torch::linspace(-30, 30, 600001, torch::kFloat64).unsqueeze(1);
  const double dv = 60.0 / 600000;
  const double integral = torch::logsumexp(-g->free_energy(grid).detach(), 0).item<double>() + std::log(dv);
  EXPECT_NEAR(exact_log_partition(*g), integral, 1e-8);

  auto big = random_rbm(4, 21, VisibleUnits::binary, 0.1, 4);
  EXPECT_THROW(exact_log_partition(*big), c10::Error);
}

TEST(RBM, AisMatchesTheExactLogPartitionWithinItsStatedError) {
  for (auto units : {VisibleUnits::binary, VisibleUnits::gaussian}) {
    auto rbm = random_rbm(25, 12, units, units == VisibleUnits::binary ? 0.5 : 0.15, 5);
    const double exact = exact_log_partition(*rbm);
    torch::manual_seed(11);
    const auto ais = ais_log_partition(*rbm, 200, 2000);
    EXPECT_GT(ais.standard_error, 0);
    EXPECT_LT(ais.standard_error, 0.05) << "AIS too noisy to be a meaningful check";
    EXPECT_LE(std::abs(ais.log_z - exact), 3 * ais.standard_error + 1e-3)
        << to_string(units) << ": AIS " << ais.log_z << " +- " << ais.standard_error << ", exact " << exact;
  }
}

// The step's one product over [h0; hk] x [v0; vk] with rows scaled by phase and count equals the
// free-energy difference's gradient for CD and PCD, k = 1 and 3, as many chains as the batch or
// fewer, binary and Gaussian visible units, and its chains are the hand-run chain's.
TEST(RBM, ContrastiveDivergenceIsTheFreeEnergyDifferenceGradient) {
  struct Case {
    bool persistent;
    int64_t k, chains;
    VisibleUnits units;
  };
  for (const auto& c : {Case{false, 3, 0, VisibleUnits::binary}, Case{true, 3, 0, VisibleUnits::binary},
                        Case{false, 1, 0, VisibleUnits::gaussian}, Case{true, 1, 5, VisibleUnits::binary},
                        Case{true, 2, 5, VisibleUnits::gaussian}}) {
    SCOPED_TRACE(::testing::Message() << "persistent " << c.persistent << ", k " << c.k << ", chains " << c.chains
                                      << ", " << to_string(c.units));
    auto rbm = random_rbm(6, 5, c.units, 0.5, 6);
    const auto v0 = torch::bernoulli(torch::full({8, 6}, 0.4, torch::kFloat64));
    ContrastiveDivergence cd(CDOptions().k(c.k).persistent(c.persistent).chains(c.chains));
    for (int call = 0; call < 2; ++call) {  // the second call reuses the buffers and, for PCD, the chains
      const auto start = c.persistent && call == 1 ? cd.chains().clone()
                         : c.chains > 0           ? v0.index_select(0, torch::arange(c.chains) % 8)
                                                  : v0.clone();
      torch::manual_seed(21 + call);
      cd.accumulate(*rbm, v0);
      const auto gw = rbm->weight.grad().clone(), gc = rbm->bias.grad().clone(), gb = rbm->visible_bias.grad().clone();
      // The same chain again, by hand.
      torch::manual_seed(21 + call);
      auto v = start;
      {
        torch::NoGradGuard no_grad;
        for (int s = 0; s < c.k; ++s) v = rbm->sample_visible(rbm->sample_hidden(v));
      }
      const auto surrogate = rbm->free_energy(v0).mean() - rbm->free_energy(v).mean();
      const auto g = torch::autograd::grad({surrogate}, {rbm->weight, rbm->bias, rbm->visible_bias});
      EXPECT_LE(testing::relative_error(gw, g[0]), 1e-12);
      EXPECT_LE(testing::relative_error(gc, g[1]), 1e-12);
      EXPECT_LE(testing::relative_error(gb, g[2]), 1e-12);
      if (c.persistent) EXPECT_TRUE(torch::equal(cd.chains(), v));
    }
  }
}

TEST(RBM, TrainingRaisesTheExactLogLikelihood) {
  // Four 10-bit patterns, each repeated: a distribution an 8-unit RBM can learn.
  const auto patterns = torch::tensor({{1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
                                       {0, 0, 0, 0, 0, 1, 1, 1, 1, 1},
                                       {1, 0, 1, 0, 1, 0, 1, 0, 1, 0},
                                       {0, 1, 0, 1, 0, 1, 0, 1, 0, 1}}, torch::kFloat64);
  const auto data = patterns.repeat({10, 1});
  for (bool persistent : {false, true}) {
    torch::manual_seed(7);
    RBM rbm(RBMOptions(10, 8).init_std(0.1));
    rbm->to(torch::kFloat64);
    const double before = average_log_likelihood(*rbm, data, exact_log_partition(*rbm));
    // PCD's chains must keep up with the parameters (Tieleman 2008): a smaller step, no momentum.
    torch::optim::SGD opt(rbm->parameters(), persistent ? torch::optim::SGDOptions(0.02)
                                                        : torch::optim::SGDOptions(0.1).momentum(0.5));
    ContrastiveDivergence cd(CDOptions().k(1).persistent(persistent).chains(persistent ? 100 : 0));
    for (int step = 0; step < 2000; ++step) {
      cd.accumulate(*rbm, data);
      opt.step();
    }
    const double after = average_log_likelihood(*rbm, data, exact_log_partition(*rbm));
    // log(1/4) = -1.39 is the best possible; uniform over 2^10 states is -6.93.
    EXPECT_GT(after, before + 3) << (persistent ? "PCD" : "CD") << ": " << before << " -> " << after;
    EXPECT_GT(after, -3.0);
    EXPECT_LT(rbm->reconstruction_error(data).item<double>(), 1.0);
    const double pl = rbm->pseudo_log_likelihood(data).item<double>();
    EXPECT_TRUE(std::isfinite(pl));
    EXPECT_LE(pl, 0);
    // A seeded generator makes the estimate repeatable without touching the default stream.
    const auto state = at::detail::getDefaultCPUGenerator().get_state();
    const auto a = rbm->pseudo_log_likelihood(data, at::make_generator<at::CPUGeneratorImpl>(5)).item<double>();
    const auto b = rbm->pseudo_log_likelihood(data, at::make_generator<at::CPUGeneratorImpl>(5)).item<double>();
    EXPECT_EQ(a, b);
    EXPECT_TRUE(torch::equal(state, at::detail::getDefaultCPUGenerator().get_state()));
  }
}

TEST(RBM, IsAnEncoderAndRejectsBadOptions) {
  RBM rbm(RBMOptions(6, 4));
  const auto x = torch::rand({3, 6});
  EXPECT_TRUE(torch::allclose(rbm->code(x), torch::sigmoid(x.matmul(rbm->weight.t()) + rbm->bias)));
  EXPECT_EQ(rbm->affine_layers().size(), 1u);
  std::vector<std::string> names;
  for (const auto& p : rbm->named_parameters()) names.push_back(p.key());
  EXPECT_EQ(names, (std::vector<std::string>{"weight", "bias", "visible_bias"}));
  EXPECT_THROW(RBM(RBMOptions(0, 4)), c10::Error);
  EXPECT_THROW(ContrastiveDivergence(CDOptions().k(0)), c10::Error);
  EXPECT_THROW(parse_visible_units("poisson"), UsageError);
}

}  // namespace
}  // namespace carve

namespace carve {
namespace {

// CUDA variant: the free energy and its gradient (what CD differentiates) on the GPU equal the
// CPU's in float64, binary and Gaussian visible units; a CD step runs there with its chains.
TEST(RBMCuda, FreeEnergyGradientsMatchTheCpuAndCdRuns) {
  CARVE_REQUIRE_CUDA();
  for (auto units : {VisibleUnits::binary, VisibleUnits::gaussian}) {
    auto rbm = random_rbm(6, 5, units, 0.5, 7);
    const auto v = torch::rand({8, 6}, torch::kFloat64);
    const std::vector<torch::Tensor> params{rbm->weight, rbm->bias, rbm->visible_bias};
    const auto cpu = rbm->free_energy(v).mean();
    const auto cpu_grads = torch::autograd::grad({cpu}, params);
    rbm->to(torch::kCUDA);
    const auto gpu = rbm->free_energy(v.to(torch::kCUDA)).mean();
    EXPECT_NEAR(gpu.item<double>(), cpu.item<double>(), 1e-12 * std::abs(cpu.item<double>())) << to_string(units);
    const auto gpu_grads = torch::autograd::grad({gpu}, params);
    for (size_t i = 0; i < params.size(); ++i) {
      EXPECT_LE(testing::relative_error(gpu_grads[i].cpu(), cpu_grads[i]), 1e-12) << to_string(units) << " " << i;
    }
    ContrastiveDivergence cd(CDOptions().k(2).persistent(true));
    cd.accumulate(*rbm, torch::bernoulli(torch::full({8, 6}, 0.4, torch::kFloat64)).to(torch::kCUDA));
    EXPECT_TRUE(cd.chains().is_cuda());
    EXPECT_TRUE(rbm->weight.grad().defined() && rbm->weight.grad().is_cuda());
  }
}

// CUDA variant: the log partition function of an RBM on the GPU (what a run's summary reports for
// an RBM or a DBN layer) — exact equals the CPU's, AIS lands within its stated error of it, and the
// log-likelihood takes data from either device. Found on an H200: these enumerated on the CPU.
TEST(RBMCuda, LogPartitionAndLikelihoodMatchTheCpu) {
  CARVE_REQUIRE_CUDA();
  for (auto units : {VisibleUnits::binary, VisibleUnits::gaussian}) {
    auto rbm = random_rbm(25, 12, units, units == VisibleUnits::binary ? 0.5 : 0.15, 5);
    const double cpu = exact_log_partition(*rbm);
    const auto v = torch::bernoulli(torch::full({16, 25}, 0.3, torch::kFloat64));
    const double cpu_ll = average_log_likelihood(*rbm, v, cpu);
    rbm->to(torch::kCUDA);
    const double gpu = exact_log_partition(*rbm);
    EXPECT_NEAR(gpu, cpu, 1e-10 * std::abs(cpu)) << to_string(units);
    EXPECT_NEAR(average_log_likelihood(*rbm, v, gpu), cpu_ll, 1e-9 * std::abs(cpu_ll)) << to_string(units);
    EXPECT_NEAR(average_log_likelihood(*rbm, v.to(torch::kCUDA), gpu), cpu_ll, 1e-9 * std::abs(cpu_ll));
    torch::manual_seed(11);
    const auto ais = ais_log_partition(*rbm, 200, 2000);
    EXPECT_LT(ais.standard_error, 0.05) << "AIS too noisy to be a meaningful check";
    EXPECT_LE(std::abs(ais.log_z - cpu), 3 * ais.standard_error + 1e-3)
        << to_string(units) << ": AIS on CUDA " << ais.log_z << " +- " << ais.standard_error << ", exact " << cpu;
  }
}

}  // namespace
}  // namespace carve
