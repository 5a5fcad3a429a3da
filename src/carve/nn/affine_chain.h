// An encoder made of given Linear + elementwise layers, whatever trained them: the stack that
// greedy layer-wise pretraining assembles from an auto-encoder, an RBM, another auto-encoder...
//
//   carve::AffineChain chain({layer1, layer2});   // AffineLayer{weight, bias, activation}
//   auto codes = chain.encode_layers(x);
#pragma once

#include <vector>

#include "carve/nn/encoder.h"

namespace carve {

/// The Encoder of the file comment.
class AffineChain : public Encoder {
 public:
  explicit AffineChain(std::vector<AffineLayer> layers);

  std::vector<torch::Tensor> encode_layers(const torch::Tensor& x) override;
  std::vector<AffineLayer> affine_layers() override { return layers_; }
  std::vector<torch::Tensor> encoder_parameters() override;
  int64_t input_size() const override { return layers_.front().weight.size(1); }
  int64_t code_size() const override { return layers_.back().weight.size(0); }

 private:
  std::vector<AffineLayer> layers_;
};

}  // namespace carve
