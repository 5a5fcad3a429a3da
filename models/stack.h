// A stack of auto-encoder layers used as one encoder: code = f_L(... f_1(x)).
// Each layer is a full carve::AutoEncoder (greedy layer-wise pretraining trains them one by
// one); as an Encoder the stack exposes only the encoding path.
//
//   carve::StackedEncoder stack(carve::StackedEncoderOptions(784, {1000, 1000})
//                                   .activation(carve::Activation::sigmoid));
//   auto h2 = stack->code(x);                  // [B, 1000]
//   carve::AutoEncoder first = stack->layer(0);
//
// Registered names: layers.0.weight, layers.0.bias, ... (the ModuleList's numbering).
#pragma once

#include <torch/torch.h>

#include <vector>

#include "carve/models/autoencoder.h"

namespace carve {

/// Constructor arguments of a StackedEncoder: the inputs and one width per layer.
struct StackedEncoderOptions {
  StackedEncoderOptions(int64_t inputs, std::vector<int64_t> hidden)
      : inputs_(inputs), hidden_(std::move(hidden)) {}

  TORCH_ARG(int64_t, inputs);
  TORCH_ARG(std::vector<int64_t>, hidden);
  TORCH_ARG(Activation, activation) = Activation::sigmoid;
  TORCH_ARG(Activation, decoder_activation) = Activation::sigmoid;
  TORCH_ARG(bool, tied) = true;
  TORCH_ARG(ReconstructionLoss, loss) = ReconstructionLoss::cross_entropy;
};

/// The stack of the file comment (code = f_L(... f_1(x))).
class StackedEncoderImpl : public torch::nn::Cloneable<StackedEncoderImpl>, public Encoder {
 public:
  explicit StackedEncoderImpl(StackedEncoderOptions options);

  void reset() override;

  size_t size() const { return layers->size(); }
  AutoEncoder layer(size_t index) const { return AutoEncoder(layers->ptr<AutoEncoderImpl>(index)); }
  torch::Tensor forward(const torch::Tensor& x) { return code(x); }

  std::vector<torch::Tensor> encode_layers(const torch::Tensor& x) override;
  std::vector<AffineLayer> affine_layers() override;
  std::vector<torch::Tensor> encoder_parameters() override;
  int64_t input_size() const override { return options.inputs(); }
  int64_t code_size() const override { return options.hidden().back(); }

  StackedEncoderOptions options;
  torch::nn::ModuleList layers;
};

TORCH_MODULE(StackedEncoder);

}  // namespace carve
