#include "carve/models/stack.h"

#include <fmt/format.h>

#include "carve/error.h"

namespace carve {

StackedEncoderImpl::StackedEncoderImpl(StackedEncoderOptions options_)
    : options(std::move(options_)) {
  reset();
}

void StackedEncoderImpl::reset() {
  if (options.hidden().empty()) throw UsageError("a stack needs at least one hidden layer");
  layers = register_module("layers", torch::nn::ModuleList());
  int64_t inputs = options.inputs();
  for (int64_t hidden : options.hidden()) {
    layers->push_back(AutoEncoder(AutoEncoderOptions(inputs, hidden)
                                      .activation(options.activation())
                                      .decoder_activation(options.decoder_activation())
                                      .tied(options.tied())
                                      .loss(options.loss())));
    inputs = hidden;
  }
}

std::vector<torch::Tensor> StackedEncoderImpl::encode_layers(const torch::Tensor& x) {
  std::vector<torch::Tensor> outputs;
  outputs.reserve(layers->size());
  torch::Tensor h = x;
  for (size_t i = 0; i < layers->size(); ++i) {
    h = layers->ptr<AutoEncoderImpl>(i)->encode(h);
    outputs.push_back(h);
  }
  return outputs;
}

std::vector<AffineLayer> StackedEncoderImpl::affine_layers() {
  std::vector<AffineLayer> result;
  for (size_t i = 0; i < layers->size(); ++i) {
    auto l = layers->ptr<AutoEncoderImpl>(i)->affine_layers();
    result.insert(result.end(), l.begin(), l.end());
  }
  return result;
}

std::vector<torch::Tensor> StackedEncoderImpl::encoder_parameters() {
  std::vector<torch::Tensor> result;
  for (size_t i = 0; i < layers->size(); ++i) {
    auto p = layers->ptr<AutoEncoderImpl>(i)->encoder_parameters();
    result.insert(result.end(), p.begin(), p.end());
  }
  return result;
}

}  // namespace carve
