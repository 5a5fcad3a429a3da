#include "carve/metrics/partition.h"

#include <fmt/format.h>

#include <cmath>

#include "carve/nn/bernoulli.h"

namespace carve {

namespace {

struct Params {
  torch::Tensor w, c, b;  // float64, [H, V], [H], [V]
  bool binary;
};

Params params_of(const RBMImpl& rbm) {
  torch::NoGradGuard no_grad;
  return {rbm.weight.detach().to(torch::kFloat64), rbm.bias.detach().to(torch::kFloat64),
          rbm.visible_bias.detach().to(torch::kFloat64), rbm.options.visible_units() == VisibleUnits::binary};
}

}  // namespace

double exact_log_partition(const RBMImpl& rbm) {
  const int64_t hidden = rbm.options.hidden();
  if (hidden > 20) {
    TORCH_CHECK(false, fmt::format("the exact partition function enumerates 2^hidden states: {} hidden units is too many (<= 20; use AIS)", hidden));
  }
  torch::NoGradGuard no_grad;
  const auto p = params_of(rbm);
  const int64_t states = int64_t(1) << hidden;
  std::vector<torch::Tensor> parts;
  const int64_t chunk = int64_t(1) << 14;
  for (int64_t first = 0; first < states; first += chunk) {
    // On the RBM's device (a CUDA RBM's states are enumerated there).
    const auto ids = torch::arange(first, std::min(states, first + chunk), p.w.options().dtype(torch::kInt64));
    const auto bits = torch::arange(hidden, p.w.options().dtype(torch::kInt64));
    const auto h = ids.unsqueeze(1).bitwise_right_shift(bits).bitwise_and(1).to(torch::kFloat64);  // [S, H]
    const auto u = torch::mm(h, p.w);                                                                 // [S, V] = (W^T h)^T
    torch::Tensor log_terms;
    if (p.binary) {
      log_terms = torch::mv(h, p.c) + torch::softplus(u + p.b).sum(1);
    } else {
      log_terms = torch::mv(h, p.c) + torch::mv(u, p.b) + 0.5 * u.pow(2).sum(1);
    }
    parts.push_back(torch::logsumexp(log_terms, 0).unsqueeze(0));
  }
  double log_z = torch::logsumexp(torch::cat(parts), 0).item<double>();
  if (!p.binary) log_z += 0.5 * static_cast<double>(rbm.options.visible()) * std::log(2 * M_PI);
  return log_z;
}

AISResult ais_log_partition(const RBMImpl& rbm, int64_t runs, int64_t betas) {
  if (runs < 2 || betas < 2) TORCH_CHECK(false, fmt::format("AIS needs runs >= 2 and betas >= 2, got {} and {}", runs, betas));
  torch::NoGradGuard no_grad;
  const auto p = params_of(rbm);
  const int64_t visible = rbm.options.visible();
  // Intermediate RBM at beta: weights beta W, hidden biases beta c, visible biases b. Its
  // unnormalized log marginal over v is the visible term (v.b, or -|v - b|^2 / 2) plus
  // sum_j softplus(beta (v W^T + c)_j); the visible term is the same at every beta, so a weight's
  // update and the Gibbs transition share one product, v W^T + c, per temperature.
  // Base model (beta = 0): independent visible units with biases b, and the hidden units with
  // zero weights and biases, which contribute a factor 2 each.
  torch::Tensor v;
  double log_z_base = static_cast<double>(rbm.options.hidden()) * std::log(2.0);
  if (p.binary) {
    v = sample_bernoulli(torch::sigmoid(p.b).expand({runs, visible}).contiguous());
    log_z_base += torch::softplus(p.b).sum().item<double>();
  } else {
    v = p.b + torch::randn({runs, visible}, p.w.options());
    log_z_base += 0.5 * static_cast<double>(visible) * std::log(2 * M_PI);
  }
  auto log_w = torch::zeros({runs}, p.w.options());
  double previous = 0;
  for (int64_t k = 1; k < betas; ++k) {
    const double beta = static_cast<double>(k) / static_cast<double>(betas - 1);
    const auto input = torch::addmm(p.c, v, p.w.t());
    log_w += (torch::softplus(beta * input) - torch::softplus(previous * input)).sum(1);
    // A Gibbs transition that leaves the beta-intermediate invariant.
    auto h = torch::sigmoid(beta * input);
    sample_bernoulli_(h);
    auto a = torch::addmm(p.b, h, p.w, 1, beta);
    if (p.binary) {
      v = sample_bernoulli_(a.sigmoid_());
    } else {
      v = a.add_(torch::randn_like(a));
    }
    previous = beta;
  }
  const double shift = log_w.max().item<double>();
  const auto w = torch::exp(log_w - shift);
  const double mean = w.mean().item<double>();
  AISResult r;
  r.log_z = log_z_base + shift + std::log(mean);
  r.standard_error = w.std().item<double>() / (std::sqrt(static_cast<double>(runs)) * mean);
  r.runs = runs;
  r.betas = betas;
  return r;
}

double average_log_likelihood(const RBMImpl& rbm, const torch::Tensor& v, double log_z) {
  torch::NoGradGuard no_grad;
  return (-rbm.free_energy(v.to(rbm.weight.device(), rbm.weight.scalar_type())).to(torch::kFloat64)).mean().item<double>() -
         log_z;
}

}  // namespace carve
