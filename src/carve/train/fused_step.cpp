// The fused one-layer auto-encoder step (see the header). With A = x̃ Wᵀ + b, h = f(A),
// Z = h M + c (M = W tied, decoder_weightᵀ untied) and B examples:
//   dZ = (σ(Z) − x) / B                                   cross-entropy (sigmoid decoder)
//   dZ = 2 (g(Z) − x) g'(Z) / B                           squared error
//   dh = dZ Mᵀ (+ sparsity: s sign(h) / B, or s (−ρ/ρ̂ + (1−ρ)/(1−ρ̂)) / B where ρ̂ is not clamped)
//   dA = dh f'(A) + λ 2 f'(A) f''(A) ‖W_j‖² / B          (analytic contractive penalty)
//   dW = dAᵀ x̃ + λ 2 diag(mean_b f'(A)²) W + 2 wd W (+ (dZᵀ h)ᵀ tied); db = Σ_b dA; dc = Σ_b dZ
//   d decoder_weight = dZᵀ h + 2 wd decoder_weight        (untied)
// f' and f'' are taken from h, as the autograd step's penalty takes them (derivative_from_output).
#include "carve/train/fused_step.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "carve/error.h"
#include "carve/train/trainer.h"

namespace carve {

namespace {

// f'(A) f''(A) from h = f(A) and d = f'(A) (f'' the derivative of derivative_from_output(h)
// through h), written into `out`; false where f'' is zero (relu, linear).
bool first_times_second_derivative(Activation act, const torch::Tensor& h, const torch::Tensor& d, torch::Tensor& out) {
  switch (act) {
    case Activation::sigmoid: at::mul_out(out, h, -2).add_(1); break;  // f'' = h(1-h)(1-2h) = d (1-2h)
    case Activation::tanh: at::mul_out(out, h, -2); break;             // f'' = -2h(1-h²) = -2h d
    case Activation::softplus: at::exp_out(out, -h); break;            // f'' = σ(1-σ) = d e^-h, 1-σ = e^-h
    case Activation::relu:
    case Activation::linear: return false;
  }
  out.mul_(d).mul_(d);
  return true;
}

// ||W_j||² per row, without a W-sized temporary.
torch::Tensor row_norms_squared(const torch::Tensor& w) {
  const std::vector<int64_t> rows{1};
  return torch::linalg_vector_norm(w, 2, rows, false, c10::nullopt).square_();
}

}  // namespace

std::string fused_step_gap(const ExperimentSpec& spec) {
  if (spec.model.type != ModelType::autoencoder) return fmt::format("a model of type {}", to_string(spec.model.type));
  const auto& reg = spec.regularizers;
  if (reg.higher_order.weight > 0) return "the higher-order contractive penalty";
  if (reg.contractive.weight > 0 && reg.contractive.method != ContractiveMethod::analytic) {
    return fmt::format("the {} contractive penalty", to_string(reg.contractive.method));
  }
  return "";
}

bool uses_fused_step(const ExperimentSpec& spec) {
  if (spec.training.step == TrainingStep::autograd) return false;
  const auto gap = fused_step_gap(spec);
  if (spec.training.step == TrainingStep::fused && !gap.empty()) {
    throw UsageError(fmt::format("training.step: fused does not cover {} (use auto or autograd)", gap));
  }
  return gap.empty();
}

FusedStep::FusedStep(AutoEncoderImpl& ae, const ExperimentSpec& spec)
    : ae_(ae),
      weight_decay_(spec.regularizers.weight_decay.weight),
      contractive_(spec.regularizers.contractive.weight),
      sparsity_(spec.regularizers.sparsity.weight),
      sparsity_target_(spec.regularizers.sparsity.target),
      kl_sparsity_(spec.regularizers.sparsity.kind == SparsityKind::kl) {
  const auto gap = fused_step_gap(spec);
  if (!gap.empty()) throw UsageError(fmt::format("training.step: fused does not cover {}", gap));
}

// The scale of each term's sum [reconstruction, weight decay, contractive, higher-order (0),
// sparsity] for a batch of B examples (means over the batch; the KL sparsity is one already),
// and the weight each scaled term has in the total (0 for the terms not in use).
const FusedStep::TermScales& FusedStep::term_scales(double n, const torch::Device& device) {
  if (!scales_.scale.defined() || scales_.n != n || scales_.scale.device() != device) {
    const double sparse_scale = kl_sparsity_ ? 1 : 1 / n;
    const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
    scales_.scale = torch::tensor({1 / n, 1.0, 1 / n, 0.0, sparse_scale}, f64).to(device);
    scales_.weight = torch::tensor({1.0, std::max(weight_decay_, 0.0), std::max(contractive_, 0.0), 0.0,
                                    std::max(sparsity_, 0.0)}, f64).to(device);
    scales_.n = n;
  }
  return scales_;
}

torch::Tensor FusedStep::compute_gradients(const torch::Tensor& x, const torch::Tensor& xin) {
  torch::NoGradGuard no_grad;
  const auto& o = ae_.options;
  const bool tied = o.tied();
  const int64_t b = x.size(0), inputs = x.size(1);
  const double n = static_cast<double>(b);
  const auto& W = ae_.weight;  // no autograd graph under the guard: no detach needed
  const auto M = tied ? W : ae_.decoder_weight.t();  // [H, D]: Z = h M + c

  // Forward: two products, into buffers kept across steps.
  auto h = rows_of(h_, b, W.size(0), x);
  activate_(o.activation(), at::addmm_out(h, ae_.bias, xin, W.t()));
  auto Z = rows_of(z_, b, inputs, x);
  at::addmm_out(Z, ae_.visible_bias, h, M);

  // The reconstruction, then its gradient with respect to Z as z_grad = dZ / z_scale (over Z,
  // or the residual itself), z_scale being folded into the products that read it.
  // Each loss term is kept as a sum until term_scales() scales them all at once.
  if (!zero_.defined() || zero_.dtype() != x.dtype() || zero_.device() != x.device()) zero_ = torch::zeros({}, x.options());
  const auto& zero = zero_;
  auto t = rows_of(scratch_, b, inputs, x);
  torch::Tensor recon;
  torch::Tensor z_grad = Z;
  double z_scale = 1 / n;
  if (o.loss() == ReconstructionLoss::cross_entropy) {
    // softplus(Z) − x Z: binary cross-entropy with logits.
    recon = at::softplus_out(t, Z, 1, 20).addcmul_(x, Z, -1).sum();
    Z.sigmoid_().sub_(x);  // dZ = (σ(Z) − x) / B
  } else {
    const bool sigmoid = o.decoder_activation() == Activation::sigmoid;
    if (sigmoid) Z.sigmoid_();  // y
    at::sub_out(t, Z, x);       // r = y − x
    recon = t.pow(2).sum();
    z_scale = 2 / n;
    if (sigmoid) {
      Z.mul_(1 - Z).mul_(t);  // dZ = 2 r y (1 − y) / B
    } else {
      z_grad = t;  // dZ = 2 r / B
    }
  }

  // Backward through the decoder: the code's gradient.
  auto dh = rows_of(dh_, b, W.size(0), x);
  at::addmm_out(dh, dh, z_grad, M.t(), 0, z_scale);  // beta 0: dh's old values are not read
  auto sparse = zero;
  if (sparsity_ > 0) {
    if (!kl_sparsity_) {
      sparse = h.abs().sum();  // / B in term_scales()
      dh.add_(torch::sign(h), sparsity_ / n);
    } else {
      const double rho = sparsity_target_;
      const auto mean = h.mean(0);
      const auto rho_hat = mean.clamp(1e-6, 1 - 1e-6);
      sparse = (rho * torch::log(rho / rho_hat) + (1 - rho) * torch::log((1 - rho) / (1 - rho_hat))).sum();
      const auto inside = ((mean >= 1e-6) & (mean <= 1 - 1e-6)).to(h.dtype());
      const auto d_rho_hat = (-rho / rho_hat + (1 - rho) / (1 - rho_hat)) * inside;
      dh.add_(d_rho_hat.unsqueeze(0), sparsity_ / n);
    }
  }

  // Through the activation, with the analytic contractive penalty's own terms.
  const auto d = derivative_from_output(o.activation(), h);
  auto dA = dh.mul_(d);
  auto cae = zero;
  torch::Tensor norms, row_scale;  // row_scale: λ 2 mean_b f'² per code unit, the penalty's gradient through ||W_j||²
  if (contractive_ > 0) {
    norms = row_norms_squared(W);
    auto t2 = rows_of(code_scratch_, b, W.size(0), x);
    at::mul_out(t2, d, d);  // f'²
    row_scale = t2.sum(0);  // Σ_b f'² per code unit
    cae = at::dot(row_scale, norms);
    row_scale.mul_(2 * contractive_ / n);
    if (first_times_second_derivative(o.activation(), h, d, t2)) dA.addcmul_(t2, norms.unsqueeze(0), 2 * contractive_ / n);
  }

  // The weight gradients, each product written into the gradient's own storage; the tied
  // decoder's h^T dZ is accumulated into the encoder's, and the row-scaled terms are one pass.
  auto& dW = gradient_storage(ae_.weight);
  at::mm_out(dW, dA.t(), xin);
  if (tied) dW.addmm_(h.t(), z_grad, 1, z_scale);
  auto wd = zero;
  if (weight_decay_ > 0) wd = norms.defined() ? norms.sum() : row_norms_squared(W).sum();
  if (row_scale.defined()) {
    if (weight_decay_ > 0) row_scale.add_(2 * weight_decay_);
    dW.addcmul_(W, row_scale.unsqueeze(1));
  } else if (weight_decay_ > 0) {
    dW.add_(W, 2 * weight_decay_);
  }
  if (!tied) {
    const auto& Wd = ae_.decoder_weight;
    auto& dDecoder = gradient_storage(ae_.decoder_weight);
    at::addmm_out(dDecoder, dDecoder, z_grad.t(), h, 0, z_scale);  // [D, H], the decoder weight's layout
    if (weight_decay_ > 0) {
      wd = wd + row_norms_squared(Wd).sum();
      dDecoder.add_(Wd, 2 * weight_decay_);
    }
  }
  at::sum_out(gradient_storage(ae_.bias), dA, 0);
  at::sum_out(gradient_storage(ae_.visible_bias), z_grad, 0).mul_(z_scale);

  // The terms as the autograd step reports them, each scaled alone (a non-finite term leaves the
  // others as they are, for the trainer's message), and the weighted sum of those in use.
  const auto& scales = term_scales(n, x.device());
  const auto each = torch::stack({recon, wd, cae, zero, sparse}).to(torch::kFloat64).mul_(scales.scale);
  const auto terms = torch::cat({each, at::dot(each, scales.weight).view({1})});
  const auto host = terms.cpu();  // one copy from a GPU, none on the CPU
  const double* value = host.data_ptr<double>();
  if (!std::all_of(value, value + host.numel(), [](double v) { return std::isfinite(v); })) {
    clear_gradients(ae_.parameters());
  }
  return terms;
}

}  // namespace carve
