// Restricted Boltzmann machine with binary hidden units and binary or Gaussian (unit-variance)
// visible units. The energy is
//   binary visible:    E(v, h) = -b.v - c.h - h^T W v
//   Gaussian visible:  E(v, h) = |v - b|^2 / 2 - c.h - h^T W v   (standardize the data first)
// with W [hidden, visible], c the hidden bias, b the visible bias. As an Encoder, its code is
// p(h = 1 | v) = sigmoid(W v + c), so the contractive metrics and the TorchScript export apply
// to it as to a sigmoid auto-encoder.
//
//   carve::RBM rbm(carve::RBMOptions(784, 500));
//   auto h = rbm->hidden_probability(v);        // [B, 500]
//   auto f = rbm->free_energy(v);               // [B]
//
// Registered names (the checkpoint format): weight, bias (hidden), visible_bias.
// Initialisation (Hinton's practical guide, 2010): W ~ N(0, 0.01^2), biases 0.
#pragma once

#include <torch/torch.h>

#include <string>

#include "carve/nn/encoder.h"

namespace carve {

/// Visible units of an RBM: binary (Bernoulli) or Gaussian with unit variance; names as in
/// experiment files ("binary", "gaussian"), an unknown one throws UsageError.
enum class VisibleUnits { binary, gaussian };
VisibleUnits parse_visible_units(const std::string& name);
std::string to_string(VisibleUnits units);

/// Constructor arguments of an RBM; init_std is the standard deviation of the initial weights.
struct RBMOptions {
  RBMOptions(int64_t visible, int64_t hidden) : visible_(visible), hidden_(hidden) {}
  TORCH_ARG(int64_t, visible);
  TORCH_ARG(int64_t, hidden);
  TORCH_ARG(VisibleUnits, visible_units) = VisibleUnits::binary;
  TORCH_ARG(double, init_std) = 0.01;
};

/// The RBM of the file comment; as an Encoder its code is p(h = 1 | v). Trained by
/// carve/train/contrastive_divergence.h.
class RBMImpl : public torch::nn::Cloneable<RBMImpl>, public Encoder {
 public:
  explicit RBMImpl(RBMOptions options);
  void reset() override;
  void reset_parameters();

  torch::Tensor hidden_probability(const torch::Tensor& v) const;   // p(h = 1 | v)
  torch::Tensor visible_mean(const torch::Tensor& h) const;         // E[v | h]
  torch::Tensor sample_hidden(const torch::Tensor& v) const;        // torch's global generator
  torch::Tensor sample_visible(const torch::Tensor& h) const;
  // The same as the step needs them (contrastive divergence): written into `out`, which has the
  // result's shape, dtype and device, with no autograd graph and no allocation.
  torch::Tensor& hidden_probability_out(torch::Tensor& out, const torch::Tensor& v) const;
  torch::Tensor& visible_mean_out(torch::Tensor& out, const torch::Tensor& h) const;
  // A sample of v given its mean E[v | h], written over `mean`: 0/1 draws for binary visible
  // units, mean + N(0, 1) for Gaussian ones (sample_visible's draws).
  torch::Tensor& sample_visible_(torch::Tensor& mean) const;
  // F(v) = -log sum_h exp(-E(v, h)), per example.
  torch::Tensor free_energy(const torch::Tensor& v) const;
  // Mean squared error of the mean-field reconstruction E[v | p(h | v)], summed over inputs.
  torch::Tensor reconstruction_error(const torch::Tensor& v) const;
  // Stochastic pseudo-log-likelihood (binary visible): V log sigmoid(F(v~) - F(v)), v~ being v
  // with one random input flipped per example; mean over the batch (as scikit-learn's RBM). The
  // flipped inputs are drawn on the CPU from `generator` (the default CPU generator if none), so
  // a seeded generator gives the same estimate on every device and leaves training's stream alone.
  torch::Tensor pseudo_log_likelihood(const torch::Tensor& v, c10::optional<at::Generator> generator = c10::nullopt) const;

  void pretty_print(std::ostream& stream) const override;

  // Encoder.
  std::vector<torch::Tensor> encode_layers(const torch::Tensor& x) override { return {hidden_probability(x)}; }
  std::vector<AffineLayer> affine_layers() override { return {{weight, bias, Activation::sigmoid}}; }
  std::vector<torch::Tensor> encoder_parameters() override { return {weight, bias}; }
  int64_t input_size() const override { return options.visible(); }
  int64_t code_size() const override { return options.hidden(); }

  RBMOptions options;
  torch::Tensor weight, bias, visible_bias;
};

TORCH_MODULE(RBM);

}  // namespace carve
