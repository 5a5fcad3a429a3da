// The contractive penalty three ways, in float64: analytic == exact to 1e-10 (value) and 1e-8
// (every parameter gradient), gradients pass central differences, the linear-encoder identity,
// and the stochastic estimate's unbiasedness and 1/sqrt(k) standard error.
#include "carve/penalty/contractive.h"

#include <gtest/gtest.h>

#include "carve/error.h"
#include "carve/models/autoencoder.h"
#include "carve/models/stack.h"
#include "support/devices.h"
#include "support/gradcheck.h"

namespace carve {
namespace {

using testing::gradient_check;
using testing::relative_error;

struct Model {
  std::shared_ptr<torch::nn::Module> module;
  Encoder* encoder;
};

Model make_model(Activation act, bool tied, int64_t layers, int64_t inputs, int64_t hidden) {
  Model m;
  if (layers == 1) {
    auto ae = std::make_shared<AutoEncoderImpl>(
        AutoEncoderOptions(inputs, hidden).activation(act).tied(tied));
    m.encoder = ae.get();
    m.module = ae;
  } else {
    auto st = std::make_shared<StackedEncoderImpl>(
        StackedEncoderOptions(inputs, std::vector<int64_t>(layers, hidden)).activation(act).tied(tied));
    m.encoder = st.get();
    m.module = st;
  }
  m.module->to(torch::kFloat64);
  // Non-zero biases so that f'(a) differs across units (zero-initialised otherwise).
  torch::NoGradGuard no_grad;
  for (auto& p : m.module->named_parameters()) {
    if (p.key().find("bias") != std::string::npos) p.value().uniform_(-0.5, 0.5);
  }
  return m;
}

std::vector<torch::Tensor> all_grads(const torch::Tensor& value, const std::vector<torch::Tensor>& params) {
  auto g = torch::autograd::grad({value}, params, {}, false, false, true);
  for (size_t i = 0; i < g.size(); ++i) {
    if (!g[i].defined()) g[i] = torch::zeros_like(params[i]);
  }
  return g;
}

// activation x tied x layers x exact mode
using Combo = std::tuple<Activation, bool, int64_t, JacobianMode>;

class AnalyticVsExact : public ::testing::TestWithParam<Combo> {};

TEST_P(AnalyticVsExact, ValueAndEveryGradientAgree) {
  const auto [act, tied, layers, mode] = GetParam();
  torch::manual_seed(11);
  auto m = make_model(act, tied, layers, /*inputs=*/7, /*hidden=*/5);
  const auto x = torch::rand({6, 7}, torch::kFloat64);
  const auto params = m.module->parameters();  // decoder parameters too: both must leave them 0

  const auto analytic = ContractivePenalty(ContractiveOptions().method(ContractiveMethod::analytic))(
      *m.encoder, x);
  // A small cap forces several blocks, the last one partial.
  const auto exact = ContractivePenalty(
      ContractiveOptions().method(ContractiveMethod::exact).mode(mode).chunk_bytes(6 * 1024))(
      *m.encoder, x);
  const double va = analytic.value.item<double>(), ve = exact.value.item<double>();
  ASSERT_GT(ve, 0);
  EXPECT_LE(std::abs(va - ve) / ve, 1e-10) << va << " vs " << ve;

  const auto ga = all_grads(analytic.value, params);
  const auto ge = all_grads(exact.value, params);
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_LE(relative_error(ga[i], ge[i]), 1e-8) << "parameter " << i;
  }
}

std::string combo_name(const ::testing::TestParamInfo<Combo>& info) {
  const auto [act, tied, layers, mode] = info.param;
  return to_string(act) + (tied ? "_tied_" : "_untied_") + std::to_string(layers) + "layer_" +
         to_string(mode);
}

INSTANTIATE_TEST_SUITE_P(
    AllCombinations, AnalyticVsExact,
    ::testing::Combine(::testing::Values(Activation::sigmoid, Activation::tanh, Activation::softplus,
                                         Activation::relu, Activation::linear),
                       ::testing::Bool(), ::testing::Values<int64_t>(1, 2),
                       ::testing::Values(JacobianMode::reverse, JacobianMode::forward,
                                         JacobianMode::factored)),
    combo_name);

class PenaltyGradCheck : public ::testing::TestWithParam<std::tuple<Activation, ContractiveMethod>> {};

TEST_P(PenaltyGradCheck, CentralDifferencesAgree) {
  const auto [act, method] = GetParam();
  for (int64_t layers : {1, 2}) {
    torch::manual_seed(3);
    auto m = make_model(act, /*tied=*/layers == 1, layers, 5, 4);
    const auto x = torch::rand({3, 5}, torch::kFloat64);
    const ContractivePenalty penalty(ContractiveOptions().method(method).projections(3));
    const auto loss = [&] {
      torch::manual_seed(99);  // the same projections at every evaluation
      return penalty(*m.encoder, x).value;
    };
    const auto r = gradient_check(loss, m.encoder->encoder_parameters());
    EXPECT_GT(r.autograd_norm, 0);
    EXPECT_LE(r.relative_error, 1e-6) << to_string(method) << " " << layers << " layers";
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllMethods, PenaltyGradCheck,
    ::testing::Combine(::testing::Values(Activation::sigmoid, Activation::tanh, Activation::softplus,
                                         Activation::relu, Activation::linear),
                       ::testing::Values(ContractiveMethod::analytic, ContractiveMethod::exact,
                                         ContractiveMethod::stochastic)),
    [](const auto& info) {
      return to_string(std::get<0>(info.param)) + "_" + to_string(std::get<1>(info.param));
    });

// For h = W x + b, J = W for every x: the penalty is the weight decay sum W^2 (paper, sec. 3).
TEST(ContractivePenalty, LinearEncoderEqualsWeightDecay) {
  torch::manual_seed(5);
  auto m = make_model(Activation::linear, true, 1, 9, 6);
  const auto x = torch::rand({4, 9}, torch::kFloat64);
  const double expected = m.encoder->affine_layers()[0].weight.pow(2).sum().item<double>();
  for (auto method : {ContractiveMethod::analytic, ContractiveMethod::exact}) {
    const double v =
        ContractivePenalty(ContractiveOptions().method(method))(*m.encoder, x).value.item<double>();
    EXPECT_NEAR(v, expected, 1e-12 * expected) << to_string(method);
  }
  const auto s = ContractivePenalty(ContractiveOptions()
                                        .method(ContractiveMethod::stochastic)
                                        .projections(2000))(*m.encoder, x);
  EXPECT_LT(std::abs(s.value.item<double>() - expected), 4 * s.standard_error);
}

TEST(ContractivePenalty, StochasticIsUnbiasedWithinFourStandardErrors) {
  for (auto projection : {Projection::gaussian, Projection::rademacher}) {
    torch::manual_seed(21);
    auto m = make_model(Activation::sigmoid, true, 2, 12, 10);
    const auto x = torch::rand({8, 12}, torch::kFloat64);
    const double exact = ContractivePenalty(ContractiveOptions().method(ContractiveMethod::exact))(
                             *m.encoder, x).value.item<double>();
    const auto s = ContractivePenalty(ContractiveOptions()
                                          .method(ContractiveMethod::stochastic)
                                          .projection(projection)
                                          .projections(4000))(*m.encoder, x);
    ASSERT_TRUE(std::isfinite(s.standard_error));
    EXPECT_GT(s.standard_error, 0);
    EXPECT_LT(std::abs(s.value.item<double>() - exact), 4 * s.standard_error)
        << to_string(projection) << ": " << s.value.item<double>() << " vs " << exact;
  }
}

TEST(ContractivePenalty, StochasticStandardErrorShrinksLikeOneOverSqrtK) {
  torch::manual_seed(8);
  auto m = make_model(Activation::tanh, true, 1, 10, 8);
  const auto x = torch::rand({4, 10}, torch::kFloat64);
  torch::NoGradGuard no_grad;
  const auto mean_stderr = [&](int64_t k) {
    double sum = 0;
    const int reps = 30;
    for (int r = 0; r < reps; ++r) {
      sum += ContractivePenalty(ContractiveOptions().method(ContractiveMethod::stochastic).projections(k))(
                 *m.encoder, x).standard_error;
    }
    return sum / reps;
  };
  const double s16 = mean_stderr(16), s256 = mean_stderr(256);
  // sqrt(256 / 16) = 4; the sample standard deviation is itself estimated, so allow 15%.
  EXPECT_NEAR(s16 / s256, 4.0, 0.6) << s16 << " " << s256;
  EXPECT_TRUE(std::isnan(ContractivePenalty(ContractiveOptions().method(ContractiveMethod::stochastic))(
                             *m.encoder, x).standard_error));
}

TEST(ContractivePenalty, SharedPassGivesTheSameValue) {
  torch::manual_seed(4);
  auto m = make_model(Activation::sigmoid, true, 1, 6, 5);
  const auto x = torch::rand({3, 6}, torch::kFloat64);
  for (auto method : {ContractiveMethod::analytic, ContractiveMethod::stochastic}) {
    const ContractivePenalty penalty(ContractiveOptions().method(method).projections(2));
    torch::manual_seed(1);
    const double own = penalty(*m.encoder, x).value.item<double>();
    torch::manual_seed(1);
    const auto pass = penalty.make_pass(*m.encoder, x);
    EXPECT_NEAR(penalty(*m.encoder, pass).value.item<double>(), own, 1e-14) << to_string(method);
  }
}

TEST(ContractivePenalty, ExactWorksWithoutGradMode) {
  torch::manual_seed(4);
  auto m = make_model(Activation::softplus, true, 2, 6, 5);
  const auto x = torch::rand({3, 6}, torch::kFloat64);
  const double with_grad = ContractivePenalty(ContractiveOptions().method(ContractiveMethod::exact))(
                               *m.encoder, x).value.item<double>();
  torch::NoGradGuard no_grad;
  const auto v = ContractivePenalty(ContractiveOptions().method(ContractiveMethod::exact))(*m.encoder, x);
  EXPECT_FALSE(v.value.requires_grad());
  EXPECT_NEAR(v.value.item<double>(), with_grad, 1e-14 * with_grad);
}

// An encoder that is not a chain of Linear + elementwise layers: LayerNorm couples the units.
struct NormEncoderImpl : torch::nn::Cloneable<NormEncoderImpl>, Encoder {
  NormEncoderImpl() { reset(); }
  void reset() override {
    seq = register_module("seq", torch::nn::Sequential(torch::nn::Linear(6, 5),
                                                       torch::nn::LayerNorm(torch::nn::LayerNormOptions({5})),
                                                       torch::nn::Tanh()));
  }
  std::vector<torch::Tensor> encode_layers(const torch::Tensor& x) override { return {seq->forward(x)}; }
  std::vector<AffineLayer> affine_layers() override { return {}; }
  std::vector<torch::Tensor> encoder_parameters() override { return parameters(); }
  int64_t input_size() const override { return 6; }
  int64_t code_size() const override { return 5; }
  torch::nn::Sequential seq{nullptr};
};

TEST(ContractivePenalty, ExactHandlesAnyDifferentiableEncoder) {
  torch::manual_seed(6);
  auto enc = std::make_shared<NormEncoderImpl>();
  enc->to(torch::kFloat64);
  const auto x = torch::rand({4, 6}, torch::kFloat64);
  EXPECT_THROW(ContractivePenalty()(*enc, x), c10::Error);  // analytic needs affine layers

  // The exact Jacobian against central differences of the encoder itself.
  const auto J = exact_jacobian([&](const torch::Tensor& v) { return enc->code(v); }, x, 5);
  const double eps = 1e-6;
  torch::NoGradGuard no_grad;
  for (int64_t i = 0; i < 6; ++i) {
    auto e = torch::zeros({1, 6}, torch::kFloat64);
    e[0][i] = eps;
    const auto col = (enc->code(x + e) - enc->code(x - e)) / (2 * eps);  // [B, 5]
    EXPECT_LE(relative_error(J.select(2, i), col), 1e-8) << "input " << i;
  }
}

TEST(ContractivePenalty, ExactGradientOfAnyEncoderPassesCentralDifferences) {
  torch::manual_seed(7);
  auto enc = std::make_shared<NormEncoderImpl>();
  enc->to(torch::kFloat64);
  const auto x = torch::rand({3, 6}, torch::kFloat64);
  const ContractivePenalty penalty(ContractiveOptions().method(ContractiveMethod::exact));
  const auto r = gradient_check([&] { return penalty(*enc, x).value; }, enc->encoder_parameters());
  EXPECT_LE(r.relative_error, 1e-6);
  // Forced forward mode differentiates LayerNorm three times, which PyTorch gets wrong; this
  // documents why `automatic` does not pick it for unverified encoders. If it ever starts
  // passing, LibTorch fixed its third derivatives and the restriction may be relaxed.
  const ContractivePenalty forced(
      ContractiveOptions().method(ContractiveMethod::exact).mode(JacobianMode::forward));
  const auto f = gradient_check([&] { return forced(*enc, x).value; }, enc->encoder_parameters());
  if (f.relative_error > 1e-6) {
    std::cout << "[ note ] forward mode through LayerNorm: gradient relative error "
              << f.relative_error << " (LibTorch third derivatives)\n";
  }
  torch::manual_seed(1);
  const auto s = ContractivePenalty(ContractiveOptions().method(ContractiveMethod::stochastic)
                                        .projections(3000))(*enc, x);
  EXPECT_LT(std::abs(s.value.item<double>() - penalty(*enc, x).value.item<double>()),
            4 * s.standard_error);
}

TEST(ContractivePenalty, RejectsBadOptions) {
  EXPECT_THROW(ContractivePenalty(ContractiveOptions().projections(0)), c10::Error);
  EXPECT_THROW(parse_contractive_method("analytical"), UsageError);
  EXPECT_THROW(parse_projection("uniform"), UsageError);
  EXPECT_THROW(parse_jacobian_mode("sideways"), UsageError);
}

}  // namespace
}  // namespace carve

namespace carve {
namespace {

// CUDA variant: the deterministic methods on the GPU equal the CPU's, value and every gradient,
// in float64, for one layer (the closed form) and two (the explicit product).
TEST(ContractiveCuda, AnalyticAndExactMatchTheCpu) {
  CARVE_REQUIRE_CUDA();
  for (int64_t layers : {1, 2}) {
    torch::manual_seed(21);
    auto m = make_model(Activation::sigmoid, /*tied=*/true, layers, /*inputs=*/7, /*hidden=*/5);
    const auto x = torch::rand({6, 7}, torch::kFloat64);
    const auto params = m.module->parameters();
    for (auto method : {ContractiveMethod::analytic, ContractiveMethod::exact}) {
      const ContractivePenalty penalty(ContractiveOptions().method(method));
      m.module->to(torch::kCPU);
      const auto cpu = penalty(*m.encoder, x).value;
      const auto cpu_grads = all_grads(cpu, params);
      m.module->to(torch::kCUDA);
      const auto gpu = penalty(*m.encoder, x.to(torch::kCUDA)).value;
      ASSERT_TRUE(gpu.is_cuda());
      EXPECT_LE(std::abs(gpu.item<double>() - cpu.item<double>()), 1e-10 * cpu.item<double>())
          << to_string(method) << ", " << layers << " layers";
      const auto gpu_grads = all_grads(gpu, params);
      for (size_t i = 0; i < params.size(); ++i) {
        EXPECT_LE(relative_error(gpu_grads[i].cpu(), cpu_grads[i]), 1e-9) << to_string(method) << " parameter " << i;
      }
    }
  }
}

}  // namespace
}  // namespace carve
