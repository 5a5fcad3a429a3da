// The fused one-layer step (issue 17, point 1): its loss terms and every gradient equal the
// autograd step's to 1e-10 in float64 for every combination it covers, and training.step
// resolves and refuses as documented.
#include "carve/train/fused_step.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <limits>

#include "carve/error.h"
#include "carve/train/trainer.h"
#include "support/devices.h"
#include "support/gradcheck.h"

namespace carve {
namespace {

ExperimentSpec spec_of(const std::string& model, const std::string& regularizers, const std::string& corruption = "") {
  return parse_experiment(fmt::format("name: f\ndata: {{dataset: mnist}}\nmodel: {{hidden: 5, {}}}\n{}{}", model,
                                      regularizers.empty() ? "" : "regularizers: " + regularizers + "\n",
                                      corruption.empty() ? "" : "corruption: " + corruption + "\n"),
                          "f.yaml");
}

// One step both ways on the same batch and the same corruption draw; every term and gradient compared.
void expect_same_step(const ExperimentSpec& spec, const std::string& what) {
  torch::manual_seed(7);
  AutoEncoder ae(AutoEncoderOptions(7, spec.model.hidden)
                     .activation(spec.model.activation)
                     .decoder_activation(spec.model.decoder_activation)
                     .tied(spec.model.tied)
                     .loss(spec.model.loss));
  ae->to(torch::kFloat64);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : ae->parameters()) p.uniform_(-1, 1);  // biases too: no symmetric zero start
  }
  const auto x = torch::rand({6, 7}, torch::kFloat64);
  const auto params = ae->parameters();

  torch::manual_seed(11);
  clear_gradients(params);
  auto [loss, reference] = training_loss(*ae, spec, contractive_penalty(spec), x);
  loss.backward({}, c10::nullopt, false, params);
  std::vector<torch::Tensor> expected;
  for (const auto& p : params) expected.push_back(p.grad().clone());

  torch::manual_seed(11);
  const auto xin = corrupt(spec.corruption, x);
  clear_gradients(params);
  FusedStep step(*ae, spec);
  const auto terms = step.compute_gradients(x, xin);
  EXPECT_LE(testing::relative_error(terms, reference), 1e-12) << what << "\nfused " << terms << "\nautograd " << reference;
  for (size_t i = 0; i < params.size(); ++i) {
    ASSERT_TRUE(params[i].grad().defined()) << what << " parameter " << i;
    EXPECT_LE(testing::relative_error(params[i].grad(), expected[i]), 1e-10) << what << " parameter " << i;
  }
}

TEST(FusedStep, EveryCombinationEqualsAutograd) {
  const std::vector<std::string> decoders{"decoder_activation: sigmoid, loss: cross_entropy",
                                          "decoder_activation: sigmoid, loss: squared_error",
                                          "decoder_activation: linear, loss: squared_error"};
  const std::vector<std::string> regularizers{
      "",
      "{weight_decay: {weight: 0.01}}",
      "{contractive: {weight: 0.3, method: analytic}}",
      "{sparsity: {weight: 0.2, kind: l1}}",
      "{sparsity: {weight: 0.2, kind: kl, target: 0.05}}",
      "{weight_decay: {weight: 0.01}, contractive: {weight: 0.3}, sparsity: {weight: 0.2, kind: kl, target: 0.1}}"};
  const std::vector<std::string> corruptions{"", "{type: masking, level: 0.3}", "{type: gaussian, level: 0.2}",
                                             "{type: salt_and_pepper, level: 0.2}"};
  int cases = 0;
  for (const auto& activation : activation_names()) {
    for (const char* tied : {"true", "false"}) {
      for (const auto& decoder : decoders) {
        for (size_t r = 0; r < regularizers.size(); ++r) {
          // Every corruption with the richest regularizers; none elsewhere (corruption only changes the input).
          for (const auto& corruption : r + 1 == regularizers.size() ? corruptions : std::vector<std::string>{""}) {
            const auto model = fmt::format("activation: {}, tied: {}, {}", activation, tied, decoder);
            // KL sparsity needs a code in (0, 1): L1 in its place for the other activations.
            auto reg = regularizers[r];
            if (activation != "sigmoid") {
              for (const char* kl : {"kind: kl, target: 0.05", "kind: kl, target: 0.1"}) {
                if (const auto at = reg.find(kl); at != std::string::npos) reg.replace(at, std::string(kl).size(), "kind: l1");
              }
            }
            expect_same_step(spec_of(model, reg, corruption), model + " | " + reg + " | " + corruption);
            ++cases;
          }
        }
      }
    }
  }
  EXPECT_EQ(cases, 5 * 2 * 3 * (5 + 4));
}

// The step keeps its buffers and the gradients' storage across steps: batches of other sizes
// (an epoch's smaller last batch, then full ones again), a non-finite step between them, and
// parameters that move, each step still equals autograd's on its own batch.
TEST(FusedStep, StepsAfterStepsOfOtherSizesEqualAutograd) {
  for (const char* tied : {"true", "false"}) {
    const auto spec = spec_of(fmt::format("activation: sigmoid, tied: {}", tied),
                              "{weight_decay: {weight: 0.01}, contractive: {weight: 0.3}, sparsity: {weight: 0.2, kind: l1}}");
    torch::manual_seed(3);
    AutoEncoder ae(AutoEncoderOptions(7, spec.model.hidden).tied(spec.model.tied));
    ae->to(torch::kFloat64);
    const auto params = ae->parameters();
    FusedStep step(*ae, spec);
    for (const int64_t rows : {6, 4, 0, 6, 9}) {  // 0: a batch whose target has an infinity
      SCOPED_TRACE(::testing::Message() << "tied " << tied << ", rows " << rows);
      auto x = torch::rand({rows > 0 ? rows : 5, 7}, torch::kFloat64);
      if (rows == 0) {
        // The reconstruction and the total are not finite; the other terms keep their values
        // (the trainer's message names them), and no gradient is left for the optimizer.
        auto target = x.clone();
        target[2][3] = std::numeric_limits<double>::infinity();
        const auto terms = step.compute_gradients(target, x);
        for (const int i : {0, 5}) EXPECT_FALSE(std::isfinite(terms[i].item<double>())) << i;
        for (const int i : {1, 2, 3, 4}) EXPECT_TRUE(std::isfinite(terms[i].item<double>())) << i;
        for (const auto& p : params) EXPECT_FALSE(p.grad().defined());
        continue;
      }
      // autograd's gradients without touching .grad, which the fused step wrote last time and reuses.
      auto [loss, reference] = training_loss(*ae, spec, contractive_penalty(spec), x);
      const auto expected = torch::autograd::grad({loss}, params, {}, false, false, false);
      const auto terms = step.compute_gradients(x, x);
      EXPECT_LE(testing::relative_error(terms, reference), 1e-12);
      for (size_t i = 0; i < params.size(); ++i) {
        ASSERT_TRUE(params[i].grad().defined()) << "parameter " << i;
        EXPECT_LE(testing::relative_error(params[i].grad(), expected[i]), 1e-10) << "parameter " << i;
      }
      torch::NoGradGuard no_grad;
      for (auto& p : ae->parameters()) p.sub_(p.grad(), 0.5);  // the next step sees other weights
    }
  }
}

// CUDA variant: the fused step on the GPU (its buffers, the products with beta 0, the terms read
// back to the host) equals the CPU's in float64, over two steps of other sizes.
TEST(FusedStepCuda, EqualsTheCpuStep) {
  CARVE_REQUIRE_CUDA();
  for (const char* model : {"activation: sigmoid, tied: true", "activation: tanh, tied: false, loss: squared_error"}) {
    const auto spec = spec_of(model, "{weight_decay: {weight: 0.01}, contractive: {weight: 0.3}, sparsity: {weight: 0.2, kind: l1}}");
    torch::manual_seed(5);
    AutoEncoder cpu(AutoEncoderOptions(7, spec.model.hidden)
                        .activation(spec.model.activation)
                        .tied(spec.model.tied)
                        .loss(spec.model.loss));
    cpu->to(torch::kFloat64);
    auto gpu = std::dynamic_pointer_cast<AutoEncoderImpl>(cpu->clone());
    gpu->to(torch::kCUDA);
    FusedStep on_cpu(*cpu, spec), on_gpu(*gpu, spec);
    for (const int64_t rows : {6, 4}) {
      const auto x = torch::rand({rows, 7}, torch::kFloat64);
      const auto a = on_cpu.compute_gradients(x, x);
      const auto b = on_gpu.compute_gradients(x.to(torch::kCUDA), x.to(torch::kCUDA));
      EXPECT_LE(testing::relative_error(b.cpu(), a), 1e-12) << model << ", rows " << rows;
      const auto pc = cpu->parameters(), pg = gpu->parameters();
      for (size_t i = 0; i < pc.size(); ++i) {
        ASSERT_TRUE(pg[i].grad().is_cuda());
        EXPECT_LE(testing::relative_error(pg[i].grad().cpu(), pc[i].grad()), 1e-10) << model << ", parameter " << i;
      }
    }
  }
}

TEST(FusedStep, TrainingStepResolvesAndRefusesWhereItDoesNotApply) {
  const auto ae = spec_of("activation: sigmoid", "{contractive: {weight: 0.1}}");
  EXPECT_TRUE(uses_fused_step(ae));
  auto autograd = ae;
  autograd.training.step = TrainingStep::autograd;
  EXPECT_FALSE(uses_fused_step(autograd));
  // auto falls back on autograd where the fused step does not apply; fused is refused there.
  for (const auto& [regularizers, model, gap] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"{contractive: {weight: 0.1, method: exact}}", "activation: sigmoid", "the exact contractive penalty"},
           {"{contractive: {weight: 0.1, method: stochastic}}", "activation: sigmoid", "the stochastic contractive penalty"},
           {"{higher_order: {weight: 0.1}}", "activation: sigmoid", "the higher-order contractive penalty"},
           {"", "type: rbm", "a model of type rbm"}}) {
    auto spec = spec_of(model, regularizers);
    EXPECT_EQ(fused_step_gap(spec), gap);
    EXPECT_FALSE(uses_fused_step(spec)) << gap;
    spec.training.step = TrainingStep::fused;
    try {
      uses_fused_step(spec);
      ADD_FAILURE() << "fused accepted for " << gap;
    } catch (const UsageError& e) {
      EXPECT_EQ(std::string(e.what()), "training.step: fused does not cover " + gap + " (use auto or autograd)");
    }
  }
}

}  // namespace
}  // namespace carve
