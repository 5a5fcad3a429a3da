#include "carve/train/contrastive_divergence.h"

#include <fmt/format.h>

#include "carve/nn/bernoulli.h"
#include "carve/train/trainer.h"


namespace carve {

ContrastiveDivergence::ContrastiveDivergence(CDOptions options) : options_(options) {
  if (options_.k() < 1) TORCH_CHECK(false, fmt::format("CD needs k >= 1, got {}", options_.k()));
  if (options_.chains() < 0) TORCH_CHECK(false, fmt::format("chains must be >= 0, got {}", options_.chains()));
}

void ContrastiveDivergence::accumulate(RBMImpl& rbm, const torch::Tensor& v0) {
  torch::NoGradGuard no_grad;
  const int64_t b = v0.size(0);
  if (options_.persistent() && !chains_.defined()) {
    const int64_t n = options_.chains() > 0 ? options_.chains() : b;
    chains_ = v0.index_select(0, torch::arange(n, torch::TensorOptions().dtype(torch::kInt64).device(v0.device())) % b).clone();
  }
  const auto start = options_.persistent() ? chains_ : v0;
  const int64_t m = start.size(0), hidden = rbm.weight.size(0), visible = rbm.weight.size(1);
  if (!hidden_.defined() || hidden_.size(0) != b + m || hidden_.size(1) != hidden || hidden_.dtype() != v0.dtype() || hidden_.device() != v0.device()) {
    hidden_ = torch::empty({b + m, hidden}, v0.options());
    visible_ = torch::empty({b + m, visible}, v0.options());
  }
  auto h0 = hidden_.narrow(0, 0, b), hk = hidden_.narrow(0, b, m);
  auto vk = visible_.narrow(0, b, m);
  visible_.narrow(0, 0, b).copy_(v0);
  rbm.hidden_probability_out(h0, v0);
  // The chain's hidden samples are drawn in hk, which is free until p(h | vk) is written there.
  for (int64_t step = 0; step < options_.k(); ++step) {
    if (step == 0 && !options_.persistent()) {
      hk.copy_(h0);  // the chain starts at v0, whose p(h | v0) is h0
    } else {
      rbm.hidden_probability_out(hk, step == 0 ? start : vk);  // PCD's chains may be vk itself
    }
    sample_bernoulli_(hk);
    rbm.visible_mean_out(vk, hk);
    rbm.sample_visible_(vk);
  }
  rbm.hidden_probability_out(hk, vk);
  if (options_.persistent()) chains_ = vk;

  // Positive minus negative statistics, negated (the gradient of the negative log-likelihood):
  // with the rows of [h0; hk] scaled by -1/b and 1/m, dW = [h0; hk]^T [v0; vk] and dc its column sums.
  h0.mul_(-1.0 / static_cast<double>(b));
  hk.mul_(1.0 / static_cast<double>(m));
  at::mm_out(gradient_storage(rbm.weight), hidden_.t(), visible_);
  at::sum_out(gradient_storage(rbm.bias), hidden_, 0);
  at::mean_out(gradient_storage(rbm.visible_bias), vk, 0).sub_(v0.mean(0));
}

}  // namespace carve
