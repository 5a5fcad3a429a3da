#include "carve/nn/affine_chain.h"

#include <fmt/format.h>


namespace carve {

AffineChain::AffineChain(std::vector<AffineLayer> layers) : layers_(std::move(layers)) {
  if (layers_.empty()) TORCH_CHECK(false, "an encoder chain needs at least one layer");
  for (size_t l = 1; l < layers_.size(); ++l) {
    if (layers_[l].weight.size(1) != layers_[l - 1].weight.size(0)) {
      TORCH_CHECK(false, fmt::format("layer {} takes {} inputs but layer {} gives {}", l + 1,
                                   layers_[l].weight.size(1), l, layers_[l - 1].weight.size(0)));
    }
  }
}

std::vector<torch::Tensor> AffineChain::encode_layers(const torch::Tensor& x) {
  std::vector<torch::Tensor> out;
  torch::Tensor h = x;
  for (const auto& l : layers_) {
    h = activate(l.activation, torch::nn::functional::linear(h, l.weight, l.bias));
    out.push_back(h);
  }
  return out;
}

std::vector<torch::Tensor> AffineChain::encoder_parameters() {
  std::vector<torch::Tensor> p;
  for (const auto& l : layers_) p.push_back(l.weight), p.push_back(l.bias);
  return p;
}

}  // namespace carve
