// One-hidden-layer auto-encoder: code h = f(x W^T + b), reconstruction z = g(h W' + c), with
// W' = W^T (tied) or a separate decoder weight (untied).
//
//   auto ae = carve::AutoEncoder(carve::AutoEncoderOptions(784, 1000)
//                                    .activation(carve::Activation::sigmoid)
//                                    .tied(true));
//   torch::Tensor h = ae->encode(x);                       // [B, 1000]
//   torch::Tensor loss = ae->reconstruction_loss(x);       // mean over the batch
//
// Registered parameter names are the checkpoint format and do not change:
//   weight [hidden, inputs], bias [hidden], visible_bias [inputs],
//   decoder_weight [inputs, hidden] (untied only).
//
// Initialisation (reset_parameters) follows the paper's era (Glorot & Bengio 2010, as in the
// Theano deep-learning tutorials that CAE/DAE code descended from): weights uniform in ±r with
// r = sqrt(6 / (n_in + n_out)), times 4 for a sigmoid encoder; biases zero. An untied decoder
// weight is drawn the same way with the decoder's own activation.
#pragma once

#include <torch/torch.h>

#include <string>

#include "carve/nn/activation.h"
#include "carve/nn/encoder.h"

namespace carve {

/// The reconstruction loss: cross-entropy (inputs in [0, 1], sigmoid decoder) or squared error.
enum class ReconstructionLoss { cross_entropy, squared_error };

/// "cross_entropy" <-> ReconstructionLoss::cross_entropy; an unknown name throws UsageError
/// listing the known ones.
ReconstructionLoss parse_reconstruction_loss(const std::string& name);
std::string to_string(ReconstructionLoss loss);

/// Constructor arguments of an AutoEncoder (the keys of `model:`, docs/CONFIG.md).
struct AutoEncoderOptions {
  AutoEncoderOptions(int64_t inputs, int64_t hidden) : inputs_(inputs), hidden_(hidden) {}

  TORCH_ARG(int64_t, inputs);
  TORCH_ARG(int64_t, hidden);
  TORCH_ARG(Activation, activation) = Activation::sigmoid;
  // sigmoid or linear.
  TORCH_ARG(Activation, decoder_activation) = Activation::sigmoid;
  TORCH_ARG(bool, tied) = true;
  // cross_entropy needs a sigmoid decoder and targets in [0, 1].
  TORCH_ARG(ReconstructionLoss, loss) = ReconstructionLoss::cross_entropy;
};

// Uniform half-width of the initial weights for a layer of that activation.
double init_range(Activation activation, int64_t fan_in, int64_t fan_out);

/// The auto-encoder of the file comment, an Encoder for the penalties; its registered parameter
/// names are the checkpoint format (never rename them).
class AutoEncoderImpl : public torch::nn::Cloneable<AutoEncoderImpl>, public Encoder {
 public:
  explicit AutoEncoderImpl(AutoEncoderOptions options);
  AutoEncoderImpl(int64_t inputs, int64_t hidden)
      : AutoEncoderImpl(AutoEncoderOptions(inputs, hidden)) {}

  void reset() override;
  void reset_parameters();

  torch::Tensor encode(const torch::Tensor& x);
  // Decoder pre-activation h W' + c (the loss uses it for a stable cross-entropy).
  torch::Tensor decode_logits(const torch::Tensor& h);
  torch::Tensor decode(const torch::Tensor& h);
  // Reconstruction z of x.
  torch::Tensor forward(const torch::Tensor& x);

  // Per-example reconstruction loss summed over inputs, mean over the batch:
  //   cross_entropy  -sum_i [x_i log z_i + (1 - x_i) log(1 - z_i)]
  //   squared_error  sum_i (z_i - x_i)^2
  torch::Tensor reconstruction_loss(const torch::Tensor& x, const torch::Tensor& h);
  torch::Tensor reconstruction_loss(const torch::Tensor& x) { return reconstruction_loss(x, encode(x)); }

  // The decoder weight as used: W^T-shaped [inputs, hidden], shared with `weight` when tied.
  torch::Tensor decoder_matrix() const;

  void pretty_print(std::ostream& stream) const override;

  // Encoder interface.
  std::vector<torch::Tensor> encode_layers(const torch::Tensor& x) override { return {encode(x)}; }
  std::vector<AffineLayer> affine_layers() override;
  std::vector<torch::Tensor> encoder_parameters() override { return {weight, bias}; }
  int64_t input_size() const override { return options.inputs(); }
  int64_t code_size() const override { return options.hidden(); }

  AutoEncoderOptions options;
  torch::Tensor weight;
  torch::Tensor bias;
  torch::Tensor visible_bias;
  torch::Tensor decoder_weight;  // undefined when tied
};

TORCH_MODULE(AutoEncoder);

}  // namespace carve
