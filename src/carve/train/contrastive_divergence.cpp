#include "carve/train/contrastive_divergence.h"

#include <fmt/format.h>


namespace carve {

ContrastiveDivergence::ContrastiveDivergence(CDOptions options) : options_(options) {
  if (options_.k() < 1) TORCH_CHECK(false, fmt::format("CD needs k >= 1, got {}", options_.k()));
  if (options_.chains() < 0) TORCH_CHECK(false, fmt::format("chains must be >= 0, got {}", options_.chains()));
}

torch::Tensor ContrastiveDivergence::accumulate(RBMImpl& rbm, const torch::Tensor& v0) {
  torch::NoGradGuard no_grad;
  const auto h0 = rbm.hidden_probability(v0);
  torch::Tensor v;
  if (options_.persistent()) {
    if (!chains_.defined()) {
      const int64_t n = options_.chains() > 0 ? options_.chains() : v0.size(0);
      chains_ = v0.index_select(0, torch::arange(n, torch::TensorOptions().dtype(torch::kInt64).device(v0.device())) % v0.size(0)).clone();
    }
    v = chains_;
  } else {
    v = v0;
  }
  torch::Tensor hk;
  for (int64_t step = 0; step < options_.k(); ++step) {
    v = rbm.sample_visible(rbm.sample_hidden(v));
  }
  hk = rbm.hidden_probability(v);
  if (options_.persistent()) chains_ = v;

  const double n0 = static_cast<double>(v0.size(0)), nk = static_cast<double>(v.size(0));
  // Positive minus negative statistics, negated: the gradient of the negative log-likelihood.
  torch::Tensor grad_w;
  if (v.size(0) == v0.size(0)) {
    // One product for both phases: [h0; -hk]^T [v0; vk].
    grad_w = torch::mm(torch::cat({-h0, hk}).t(), torch::cat({v0, v})) / n0;
  } else {
    grad_w = torch::mm(hk.t(), v) / nk - torch::mm(h0.t(), v0) / n0;
  }
  rbm.weight.mutable_grad() = grad_w;
  rbm.bias.mutable_grad() = hk.mean(0) - h0.mean(0);
  rbm.visible_bias.mutable_grad() = v.mean(0) - v0.mean(0);
  return h0;
}

}  // namespace carve
