#include "carve/models/autoencoder.h"

#include <gtest/gtest.h>

#include "carve/error.h"
#include "carve/models/stack.h"
#include "support/devices.h"

namespace carve {
namespace {

TEST(AutoEncoder, RegisteredNamesAreTheCheckpointFormat) {
  AutoEncoder tied(AutoEncoderOptions(6, 4));
  std::vector<std::string> names;
  for (const auto& p : tied->named_parameters()) names.push_back(p.key());
  EXPECT_EQ(names, (std::vector<std::string>{"weight", "bias", "visible_bias"}));

  AutoEncoder untied(AutoEncoderOptions(6, 4).tied(false));
  names.clear();
  for (const auto& p : untied->named_parameters()) names.push_back(p.key());
  EXPECT_EQ(names, (std::vector<std::string>{"weight", "bias", "visible_bias", "decoder_weight"}));
  EXPECT_EQ(untied->decoder_weight.sizes(), (std::vector<int64_t>{6, 4}));
}

TEST(AutoEncoder, InitialisationRangeFollowsThePaperEra) {
  torch::manual_seed(1);
  AutoEncoder sig(AutoEncoderOptions(784, 1000));
  const double r = 4 * std::sqrt(6.0 / 1784.0);
  EXPECT_LE(sig->weight.abs().max().item<double>(), r);
  EXPECT_GT(sig->weight.abs().max().item<double>(), 0.99 * r);  // fills the range
  EXPECT_EQ(sig->bias.abs().max().item<double>(), 0.0);
  AutoEncoder tanh_ae(AutoEncoderOptions(784, 1000).activation(Activation::tanh));
  EXPECT_LE(tanh_ae->weight.abs().max().item<double>(), r / 4);
}

TEST(AutoEncoder, ForwardMatchesHandWrittenFloat64) {
  torch::manual_seed(2);
  for (bool tied : {true, false}) {
    AutoEncoder ae(AutoEncoderOptions(5, 3).activation(Activation::tanh).tied(tied));
    ae->to(torch::kFloat64);
    const auto x = torch::rand({4, 5}, torch::kFloat64);
    const auto h = torch::tanh(x.matmul(ae->weight.t()) + ae->bias);
    const auto wd = tied ? ae->weight.t() : ae->decoder_weight;
    const auto z = torch::sigmoid(h.matmul(wd.t()) + ae->visible_bias);
    EXPECT_TRUE(torch::allclose(ae->encode(x), h, 1e-14, 1e-14));
    EXPECT_TRUE(torch::allclose(ae->forward(x), z, 1e-14, 1e-14));
    const auto ce = -(x * torch::log(z) + (1 - x) * torch::log(1 - z)).sum(1).mean();
    EXPECT_NEAR(ae->reconstruction_loss(x).item<double>(), ce.item<double>(), 1e-12);
  }
  AutoEncoder se(AutoEncoderOptions(5, 3)
                     .decoder_activation(Activation::linear)
                     .loss(ReconstructionLoss::squared_error));
  se->to(torch::kFloat64);
  const auto x = torch::rand({4, 5}, torch::kFloat64);
  const auto z = se->encode(x).matmul(se->weight) + se->visible_bias;
  EXPECT_NEAR(se->reconstruction_loss(x).item<double>(), (z - x).pow(2).sum(1).mean().item<double>(),
              1e-12);
}

TEST(AutoEncoder, TiedDecoderSharesTheEncoderWeight) {
  AutoEncoder ae(AutoEncoderOptions(5, 3));
  const auto x = torch::rand({2, 5});
  ae->reconstruction_loss(x).backward();
  // With tied weights, the decoder's gradient lands on `weight` too: no other matrix exists.
  EXPECT_TRUE(ae->weight.grad().defined());
  EXPECT_EQ(ae->parameters().size(), 3u);
}

TEST(AutoEncoder, RejectsBadOptions) {
  EXPECT_THROW(AutoEncoder(AutoEncoderOptions(0, 3)), c10::Error);
  EXPECT_THROW(AutoEncoder(AutoEncoderOptions(3, -1)), c10::Error);
  EXPECT_THROW(AutoEncoder(AutoEncoderOptions(3, 2).decoder_activation(Activation::tanh)),
               c10::Error);
  EXPECT_THROW(AutoEncoder(AutoEncoderOptions(3, 2).decoder_activation(Activation::linear)),
               c10::Error);  // cross-entropy needs a sigmoid decoder
}

TEST(StackedEncoder, IsTheCompositionOfItsLayers) {
  StackedEncoder stack(StackedEncoderOptions(6, {5, 4}).activation(Activation::softplus));
  const auto x = torch::rand({3, 6});
  const auto expected = stack->layer(1)->encode(stack->layer(0)->encode(x));
  EXPECT_TRUE(torch::allclose(stack->code(x), expected));
  EXPECT_EQ(stack->encoder_parameters().size(), 4u);
  EXPECT_EQ(stack->affine_layers().size(), 2u);
  EXPECT_EQ(stack->code_size(), 4);
  std::vector<std::string> names;
  for (const auto& p : stack->named_parameters()) names.push_back(p.key());
  EXPECT_EQ(names.front(), "layers.0.weight");
}

}  // namespace
}  // namespace carve

namespace carve {
namespace {

// CUDA variant: the forward pass, the reconstruction loss and its gradients on the GPU equal the
// CPU's in float64, tied and untied.
TEST(AutoEncoderCuda, LossAndGradientsMatchTheCpu) {
  CARVE_REQUIRE_CUDA();
  for (bool tied : {true, false}) {
    torch::manual_seed(2);
    AutoEncoder ae(AutoEncoderOptions(5, 3).activation(Activation::tanh).tied(tied));
    ae->to(torch::kFloat64);
    const auto x = torch::rand({4, 5}, torch::kFloat64);
    const auto params = ae->parameters();
    const auto cpu = ae->reconstruction_loss(x);
    const auto cpu_grads = torch::autograd::grad({cpu}, params);
    ae->to(torch::kCUDA);
    const auto gpu = ae->reconstruction_loss(x.to(torch::kCUDA));
    ASSERT_TRUE(gpu.is_cuda());
    EXPECT_NEAR(gpu.item<double>(), cpu.item<double>(), 1e-12 * std::abs(cpu.item<double>()));
    const auto gpu_grads = torch::autograd::grad({gpu}, params);
    for (size_t i = 0; i < params.size(); ++i) {
      EXPECT_TRUE(torch::allclose(gpu_grads[i].cpu(), cpu_grads[i], 1e-10, 1e-12)) << "parameter " << i;
    }
  }
}

}  // namespace
}  // namespace carve
