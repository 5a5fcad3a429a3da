// The loss of a training step and the metrics of a code (declared in carve/train/trainer.h).
#include <filesystem>

#include "carve/metrics/paper_units.h"
#include "carve/penalty/contractive.h"
#include "carve/penalty/higher_order.h"
#include "carve/penalty/jacobian.h"
#include "carve/train/trainer.h"
#include "carve/models/autoencoder.h"

namespace carve {

namespace fs = std::filesystem;

torch::Tensor corrupt(const CorruptionSpec& c, const torch::Tensor& x) {
  if (c.type == CorruptionType::gaussian) return x + c.level * torch::randn_like(x);
  if (c.type == CorruptionType::masking) return x * (torch::rand_like(x) >= c.level).to(x.dtype());
  if (c.type == CorruptionType::salt_and_pepper) {
    const auto hit = torch::rand_like(x) < c.level;
    const auto salt = (torch::rand_like(x) < 0.5).to(x.dtype());
    return torch::where(hit, salt, x);
  }
  return x;
}


ContractionMeasures contraction_measures(Encoder& encoder, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  const auto layers = encoder.affine_layers();
  const auto outputs = encoder.encode_layers(x);
  ContractionMeasures m;
  if (layers.size() == 1) {
    const auto d = derivative_from_output(layers[0].activation, outputs[0]);
    m.per_example_sq = torch::mv(d * d, layers[0].weight.pow(2).sum(1));
  } else {
    m.per_example_sq = analytic_jacobian(layers, outputs).pow(2).sum({1, 2});
  }
  const auto act = layers.back().activation;
  const auto& h = outputs.back();
  if (act == Activation::sigmoid || act == Activation::tanh) m.code = act == Activation::tanh ? (h + 1) / 2 : h;
  return m;
}

std::pair<double, double> contraction_metrics(Encoder& encoder, const torch::Tensor& x, double tau) {
  return contraction_metrics(contraction_measures(encoder, x), tau);
}

std::pair<double, double> contraction_metrics(const ContractionMeasures& m, double tau) {
  const double fro = m.per_example_sq.sqrt().mean().item<double>();
  double saturation = std::nan("");
  if (m.code.defined()) saturation = ((m.code < tau) | (m.code > 1 - tau)).to(torch::kFloat64).mean().item<double>();
  return {fro, saturation};
}

nlohmann::json paper_units(Encoder& encoder, const torch::Tensor& x) {
  return paper_units(contraction_measures(encoder, x), encoder.input_size());
}

nlohmann::json paper_units(const ContractionMeasures& m, int64_t input_size) {
  auto candidates = paper_unit_candidates(m.per_example_sq, m.code, input_size);
  const auto chosen = [](const nlohmann::json& group, const char* name) {
    return group.contains(name) ? group[name] : nlohmann::json();  // null: not defined for this encoder
  };
  return {{"jacobian", chosen(candidates["jacobian"], kChosenJacobian)},
          {"jacobian_unit", kChosenJacobian},
          {"saturation", chosen(candidates["saturation"], kChosenSaturation)},
          {"saturation_unit", kChosenSaturation},
          {"candidates", candidates}};
}

void clear_gradients(const std::vector<torch::Tensor>& params) {
  for (auto p : params) p.mutable_grad() = torch::Tensor();
}

torch::Tensor& gradient_storage(torch::Tensor& parameter) {
  auto& g = parameter.mutable_grad();
  if (!g.defined() || g.sizes() != parameter.sizes() || g.dtype() != parameter.dtype() || g.device() != parameter.device()) {
    g = torch::empty_like(parameter);
  }
  return g;
}

torch::Tensor rows_of(torch::Tensor& buffer, int64_t rows, int64_t cols, const torch::Tensor& like) {
  if (!buffer.defined() || buffer.size(0) < rows || buffer.size(1) != cols || buffer.dtype() != like.dtype() ||
      buffer.device() != like.device()) {
    buffer = torch::empty({rows, cols}, like.options());
  }
  return buffer.size(0) == rows ? buffer : buffer.narrow(0, 0, rows);
}

void count_forward(profile::Phase phase, const char* name, const std::vector<AffineLayer>& layers, int64_t rows) {
  if (!profile::enabled()) return;
  for (const auto& l : layers) {
    // x Wᵀ reads W transposed where W is stored [out, in] (a transposed view reads it as it is).
    profile::count_product(phase, name, {rows, l.weight.size(1), l.weight.size(0), false, l.weight.is_contiguous()});
  }
}

ContractivePenalty contractive_penalty(const ExperimentSpec& spec) {
  const auto& reg = spec.regularizers;
  return ContractivePenalty(ContractiveOptions()
                                .method(reg.contractive.method)
                                .projections(reg.contractive.projections)
                                .projection(reg.contractive.projection));
}

BatchLoss training_loss(AutoEncoderImpl& ae, const ExperimentSpec& spec, const ContractivePenalty& contractive,
                        const torch::Tensor& x) {
  const auto& reg = spec.regularizers;
  const auto xin = corrupt(spec.corruption, x);
  // One forward pass serves the reconstruction and the penalties.
  const auto pass = reg.contractive.weight > 0 ? contractive.make_pass(ae, xin) : EncoderPass::of(ae, xin);
  const auto& h = pass.code();
  const auto recon = ae.reconstruction_loss(x, h);  // the clean input is the target
  const auto zero = torch::zeros({}, recon.options());
  torch::Tensor wd = zero, cae = zero, cah = zero, sparse = zero;
  if (reg.weight_decay.weight > 0) {
    wd = ae.weight.pow(2).sum();
    if (!spec.model.tied) wd = wd + ae.decoder_weight.pow(2).sum();
  }
  if (reg.contractive.weight > 0) cae = contractive(ae, pass).value;
  if (reg.higher_order.weight > 0) {
    HigherOrderOptions options;
    options.sigma(reg.higher_order.sigma).corruptions(reg.higher_order.corruptions);
    cah = higher_order_penalty(ae, xin, options, &pass);
  }
  if (reg.sparsity.weight > 0) {
    if (reg.sparsity.kind == SparsityKind::l1) {
      sparse = h.abs().sum(1).mean();
    } else {
      // KL(rho || rho_hat_j) summed over hidden units, rho_hat_j the batch-mean activation.
      const double rho = reg.sparsity.target;
      const auto rho_hat = h.mean(0).clamp(1e-6, 1 - 1e-6);
      sparse = (rho * torch::log(rho / rho_hat) + (1 - rho) * torch::log((1 - rho) / (1 - rho_hat))).sum();
    }
  }
  // Only the terms in use enter the graph: each zero-weight term would cost two autograd nodes.
  auto loss = recon;
  for (auto [weight, term] : {std::pair{reg.weight_decay.weight, wd}, {reg.contractive.weight, cae},
                              {reg.higher_order.weight, cah}, {reg.sparsity.weight, sparse}}) {
    if (weight > 0) loss = loss + weight * term;
  }
  return {loss, torch::stack({recon, wd, cae, cah, sparse, loss}).detach().to(torch::kFloat64)};
}

std::string default_run_directory(const ExperimentSpec& spec) { return (fs::path("runs") / spec.name).string(); }

}  // namespace carve
