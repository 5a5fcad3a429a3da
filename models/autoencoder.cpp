#include "carve/models/autoencoder.h"

#include <fmt/format.h>

#include "carve/error.h"

namespace carve {

ReconstructionLoss parse_reconstruction_loss(const std::string& name) {
  if (name == "cross_entropy") return ReconstructionLoss::cross_entropy;
  if (name == "squared_error") return ReconstructionLoss::squared_error;
  throw UsageError(
      fmt::format("unknown reconstruction loss '{}' (known: cross_entropy, squared_error)", name));
}

std::string to_string(ReconstructionLoss loss) {
  return loss == ReconstructionLoss::cross_entropy ? "cross_entropy" : "squared_error";
}

double init_range(Activation activation, int64_t fan_in, int64_t fan_out) {
  const double r = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  return activation == Activation::sigmoid ? 4.0 * r : r;
}

AutoEncoderImpl::AutoEncoderImpl(AutoEncoderOptions options_) : options(std::move(options_)) {
  reset();
}

void AutoEncoderImpl::reset() {
  // The configuration checks these where a user writes them (config/experiment_schema.cpp);
  // here they are the constructor's preconditions.
  TORCH_CHECK(options.inputs() > 0 && options.hidden() > 0, "auto-encoder sizes must be positive, got inputs=",
              options.inputs(), " hidden=", options.hidden());
  const auto dec = options.decoder_activation();
  TORCH_CHECK(dec == Activation::sigmoid || dec == Activation::linear,
              "decoder activation must be sigmoid or linear, got '", to_string(dec), "'");
  TORCH_CHECK(options.loss() != ReconstructionLoss::cross_entropy || dec == Activation::sigmoid,
              "cross_entropy reconstruction needs a sigmoid decoder activation");
  weight = register_parameter("weight", torch::empty({options.hidden(), options.inputs()}));
  bias = register_parameter("bias", torch::empty({options.hidden()}));
  visible_bias = register_parameter("visible_bias", torch::empty({options.inputs()}));
  decoder_weight = options.tied() ? torch::Tensor()
                                  : register_parameter("decoder_weight",
                                                       torch::empty({options.inputs(),
                                                                     options.hidden()}));
  reset_parameters();
}

void AutoEncoderImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  const double r = init_range(options.activation(), options.inputs(), options.hidden());
  weight.uniform_(-r, r);
  bias.zero_();
  visible_bias.zero_();
  if (decoder_weight.defined()) {
    const double rd = init_range(options.decoder_activation(), options.hidden(), options.inputs());
    decoder_weight.uniform_(-rd, rd);
  }
}

torch::Tensor AutoEncoderImpl::encode(const torch::Tensor& x) {
  return activate(options.activation(), torch::nn::functional::linear(x, weight, bias));
}

torch::Tensor AutoEncoderImpl::decoder_matrix() const {
  return options.tied() ? weight.t() : decoder_weight;
}

torch::Tensor AutoEncoderImpl::decode_logits(const torch::Tensor& h) {
  return torch::nn::functional::linear(h, decoder_matrix(), visible_bias);
}

torch::Tensor AutoEncoderImpl::decode(const torch::Tensor& h) {
  return activate(options.decoder_activation(), decode_logits(h));
}

torch::Tensor AutoEncoderImpl::forward(const torch::Tensor& x) { return decode(encode(x)); }

torch::Tensor AutoEncoderImpl::reconstruction_loss(const torch::Tensor& x, const torch::Tensor& h) {
  const auto logits = decode_logits(h);
  torch::Tensor per_input;
  if (options.loss() == ReconstructionLoss::cross_entropy) {
    per_input = torch::binary_cross_entropy_with_logits(logits, x, {}, {}, at::Reduction::None);
  } else {
    per_input = (activate(options.decoder_activation(), logits) - x).pow(2);
  }
  return per_input.sum(-1).mean();
}

std::vector<AffineLayer> AutoEncoderImpl::affine_layers() {
  return {AffineLayer{weight, bias, options.activation()}};
}

void AutoEncoderImpl::pretty_print(std::ostream& stream) const {
  stream << fmt::format("carve::AutoEncoder(inputs={}, hidden={}, activation={}, decoder={}, {}, loss={})",
                        options.inputs(), options.hidden(), to_string(options.activation()),
                        to_string(options.decoder_activation()),
                        options.tied() ? "tied" : "untied", to_string(options.loss()));
}

}  // namespace carve
