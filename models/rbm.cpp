#include "carve/models/rbm.h"

#include <fmt/format.h>

#include "carve/error.h"
#include "carve/nn/bernoulli.h"

namespace carve {

VisibleUnits parse_visible_units(const std::string& name) {
  if (name == "binary") return VisibleUnits::binary;
  if (name == "gaussian") return VisibleUnits::gaussian;
  throw UsageError(fmt::format("unknown visible units '{}' (known: binary, gaussian)", name));
}

std::string to_string(VisibleUnits units) { return units == VisibleUnits::binary ? "binary" : "gaussian"; }

RBMImpl::RBMImpl(RBMOptions options_) : options(std::move(options_)) { reset(); }

void RBMImpl::reset() {
  if (options.visible() <= 0 || options.hidden() <= 0) {
    TORCH_CHECK(false, fmt::format("RBM sizes must be positive, got visible={} hidden={}", options.visible(), options.hidden()));
  }
  weight = register_parameter("weight", torch::empty({options.hidden(), options.visible()}));
  bias = register_parameter("bias", torch::empty({options.hidden()}));
  visible_bias = register_parameter("visible_bias", torch::empty({options.visible()}));
  reset_parameters();
}

void RBMImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  weight.normal_(0, options.init_std());
  bias.zero_();
  visible_bias.zero_();
}

torch::Tensor RBMImpl::hidden_probability(const torch::Tensor& v) const {
  return torch::sigmoid(torch::nn::functional::linear(v, weight, bias));
}

torch::Tensor RBMImpl::visible_mean(const torch::Tensor& h) const {
  const auto a = torch::nn::functional::linear(h, weight.t(), visible_bias);
  return options.visible_units() == VisibleUnits::binary ? torch::sigmoid(a) : a;
}

torch::Tensor RBMImpl::sample_hidden(const torch::Tensor& v) const { return sample_bernoulli(hidden_probability(v)); }

torch::Tensor RBMImpl::sample_visible(const torch::Tensor& h) const {
  torch::NoGradGuard no_grad;
  auto mean = visible_mean(h);
  return sample_visible_(mean);
}

// linear(v, W, c) is addmm(c, v, W^T) on every device, so these equal the functions above.
torch::Tensor& RBMImpl::hidden_probability_out(torch::Tensor& out, const torch::Tensor& v) const {
  torch::NoGradGuard no_grad;
  return at::addmm_out(out, bias, v, weight.t()).sigmoid_();
}

torch::Tensor& RBMImpl::visible_mean_out(torch::Tensor& out, const torch::Tensor& h) const {
  torch::NoGradGuard no_grad;
  at::addmm_out(out, visible_bias, h, weight);
  return options.visible_units() == VisibleUnits::binary ? out.sigmoid_() : out;
}

torch::Tensor& RBMImpl::sample_visible_(torch::Tensor& mean) const {
  torch::NoGradGuard no_grad;
  return options.visible_units() == VisibleUnits::binary ? sample_bernoulli_(mean) : mean.add_(torch::randn_like(mean));
}

torch::Tensor RBMImpl::free_energy(const torch::Tensor& v) const {
  const auto hidden_term = torch::softplus(torch::nn::functional::linear(v, weight, bias)).sum(-1);
  if (options.visible_units() == VisibleUnits::binary) return -torch::mv(v, visible_bias) - hidden_term;
  return 0.5 * (v - visible_bias).pow(2).sum(-1) - hidden_term;
}

torch::Tensor RBMImpl::reconstruction_error(const torch::Tensor& v) const {
  return (visible_mean(hidden_probability(v)) - v).pow(2).sum(-1).mean();
}

torch::Tensor RBMImpl::pseudo_log_likelihood(const torch::Tensor& v, c10::optional<at::Generator> generator) const {
  TORCH_CHECK(options.visible_units() == VisibleUnits::binary, "pseudo-likelihood needs binary visible units");
  const auto vb = (v > 0.5).to(v.dtype());
  const auto flip = torch::randint(0, v.size(1), {v.size(0)}, generator, torch::kInt64).to(v.device());
  auto flipped = vb.clone();
  const auto rows = torch::arange(v.size(0), flip.options());
  flipped.index_put_({rows, flip}, 1 - vb.index({rows, flip}));
  return (static_cast<double>(v.size(1)) * torch::log_sigmoid(free_energy(flipped) - free_energy(vb))).mean();
}

void RBMImpl::pretty_print(std::ostream& stream) const {
  stream << fmt::format("carve::RBM(visible={}, hidden={}, {} visible units)", options.visible(), options.hidden(),
                        to_string(options.visible_units()));
}

}  // namespace carve
