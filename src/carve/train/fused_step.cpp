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

#include <cmath>

#include "carve/error.h"

namespace carve {

namespace {

// f''(A) from h = f(A): the derivative of derivative_from_output(h) through h.
torch::Tensor second_derivative(Activation act, const torch::Tensor& h, const torch::Tensor& d) {
  switch (act) {
    case Activation::sigmoid: return d * (1 - 2 * h);          // h(1-h)(1-2h)
    case Activation::tanh: return -2 * h * d;                  // -2h(1-h²)
    case Activation::softplus: return d * torch::exp(-h);      // σ(1-σ), 1-σ = e^-h
    case Activation::relu:
    case Activation::linear: return torch::zeros_like(h);
  }
  TORCH_CHECK(false, "unhandled activation");
}

void set_grad(torch::Tensor& p, const torch::Tensor& g) { p.mutable_grad() = g; }

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

torch::Tensor FusedStep::compute_gradients(const torch::Tensor& x, const torch::Tensor& xin) {
  torch::NoGradGuard no_grad;
  const auto& o = ae_.options;
  const bool tied = o.tied();
  const double n = static_cast<double>(x.size(0));
  const auto W = ae_.weight.detach();
  const auto M = tied ? W : ae_.decoder_weight.detach().t();  // [H, D]: Z = h M + c

  // Forward: two products.
  const auto A = torch::addmm(ae_.bias.detach(), xin, W.t());
  const auto h = activate(o.activation(), A);
  const auto Z = torch::addmm(ae_.visible_bias.detach(), h, M);

  // The reconstruction and its gradient with respect to Z.
  const auto zero = torch::zeros({}, x.options());
  torch::Tensor recon, dZ;
  if (o.loss() == ReconstructionLoss::cross_entropy) {
    // softplus(Z) − x Z: binary cross-entropy with logits.
    recon = (torch::softplus(Z) - x * Z).sum() / n;
    dZ = torch::sigmoid(Z).sub_(x).div_(n);
  } else {
    const bool sigmoid = o.decoder_activation() == Activation::sigmoid;
    const auto y = sigmoid ? torch::sigmoid(Z) : Z;
    const auto r = y - x;
    recon = r.pow(2).sum() / n;
    dZ = sigmoid ? r.mul(y * (1 - y)).mul_(2 / n) : r.mul(2 / n);
  }

  // Backward through the decoder: the code's gradient and the decoder's weight gradient.
  auto dh = torch::mm(dZ, M.t());
  const auto dM = torch::mm(h.t(), dZ);  // [H, D]
  auto sparse = zero;
  if (sparsity_ > 0) {
    if (!kl_sparsity_) {
      sparse = h.abs().sum() / n;
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
  torch::Tensor row_scale;  // λ 2 mean_b f'² per code unit: the penalty's gradient through ||W_j||²
  if (contractive_ > 0) {
    const auto norms = W.pow(2).sum(1);  // ||W_j||²
    const auto d2 = d * d;
    cae = torch::mv(d2, norms).sum() / n;
    dA.add_((d * second_derivative(o.activation(), h, d)) * norms.unsqueeze(0), 2 * contractive_ / n);
    row_scale = d2.sum(0).mul_(2 * contractive_ / n);
  }

  // The encoder's gradients.
  auto dW = torch::mm(dA.t(), xin);
  if (tied) dW.add_(dM);
  if (row_scale.defined()) dW.add_(W * row_scale.unsqueeze(1));
  auto wd = zero;
  if (weight_decay_ > 0) {
    wd = W.pow(2).sum();
    dW.add_(W, 2 * weight_decay_);
  }
  torch::Tensor dDecoder;
  if (!tied) {
    dDecoder = dM.t().contiguous();
    if (weight_decay_ > 0) {
      const auto Wd = ae_.decoder_weight.detach();
      wd = wd + Wd.pow(2).sum();
      dDecoder.add_(Wd, 2 * weight_decay_);
    }
  }
  // The terms as the autograd step reports them: the weighted sum of the terms in use.
  auto total = recon;
  for (auto [weight, term] : {std::pair{weight_decay_, wd}, {contractive_, cae}, {sparsity_, sparse}}) {
    if (weight > 0) total = total + weight * term;
  }
  const auto terms = torch::stack({recon, wd, cae, zero, sparse, total}).to(torch::kFloat64);
  if (!torch::isfinite(terms).all().item<bool>()) {
    for (auto p : ae_.parameters()) p.mutable_grad() = torch::Tensor();
    return terms;
  }
  set_grad(ae_.weight, dW);
  set_grad(ae_.bias, dA.sum(0));
  set_grad(ae_.visible_bias, dZ.sum(0));
  if (!tied) set_grad(ae_.decoder_weight, dDecoder);
  return terms;
}

}  // namespace carve
