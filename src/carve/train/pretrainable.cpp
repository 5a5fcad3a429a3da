#include "carve/train/pretrainable.h"

#include <ATen/CPUGeneratorImpl.h>

#include <fmt/format.h>

#include <cmath>
#include <optional>

#include "carve/error.h"
#include "carve/export/torchscript.h"
#include "carve/metrics/partition.h"
#include "carve/profile.h"
#include "carve/train/contrastive_divergence.h"
#include "carve/train/fused_step.h"
#include "carve/train/trainer.h"
#include "carve/models/autoencoder.h"
#include "carve/models/rbm.h"

namespace carve {

namespace {

class AutoEncoderModel : public Pretrainable {
 public:
  // fused: training.step as uses_fused_step resolved it (make_pretrainable resolves it once).
  AutoEncoderModel(const ExperimentSpec& spec, int64_t inputs, bool fused)
      : spec_(spec),
        ae_(AutoEncoderOptions(inputs, spec.model.hidden)
                .activation(spec.model.activation)
                .decoder_activation(spec.model.decoder_activation)
                .tied(spec.model.tied)
                .loss(spec.model.loss)),
        contractive_(contractive_penalty(spec)),
        params_(ae_->parameters()) {
    if (fused) fused_.emplace(*ae_, spec);
  }

  torch::nn::Module& module() override { return *ae_; }
  Encoder& encoder() override { return *ae_; }
  std::string step() const override { return fused_ ? "fused" : "autograd"; }
  void use_step(const std::string& step) override {
    if (step == "fused" && !fused_) fused_.emplace(*ae_, spec_);
    if (step == "autograd") fused_.reset();
  }
  torch::Tensor compute_gradients(const torch::Tensor& x) override {
    if (fused_) return fused_->compute_gradients(x, corrupt(spec_.corruption, x));
    clear_gradients(params_);
    auto [loss, terms] = training_loss(*ae_, spec_, contractive_, x);
    if (torch::isfinite(terms).all().item<bool>()) loss.backward({}, c10::nullopt, false, params_);
    return terms;
  }
  void count_step_products(int64_t b) const override {
    if (!profile::enabled()) return;
    using profile::Phase;
    const int64_t d = ae_->weight.size(1), h = ae_->weight.size(0);
    const bool tied = ae_->options.tied();  // Z = h M + c: M = W [H, D] tied, decoder_weightᵀ untied
    profile::count_product(Phase::pretraining_steps, "encode x W^T", {b, d, h, false, true});
    profile::count_product(Phase::pretraining_steps, "decode h M", {b, h, d, false, !tied});
    profile::count_product(Phase::pretraining_steps, "code gradient dZ M^T", {b, d, h, false, tied});
    profile::count_product(Phase::pretraining_steps, "encoder weight gradient dA^T x", {h, b, d, true, false});
    if (tied) {
      profile::count_product(Phase::pretraining_steps, "decoder weight gradient h^T dZ", {h, b, d, true, false});
    } else {
      profile::count_product(Phase::pretraining_steps, "decoder weight gradient dZ^T h", {d, b, h, true, false});
    }
  }
  double reconstruction_error(const torch::Tensor& x) override {
    torch::NoGradGuard no_grad;
    return ae_->reconstruction_loss(x).item<double>();
  }
  torch::Tensor reconstruct(const torch::Tensor& x) override {
    torch::NoGradGuard no_grad;
    return ae_->forward(x);
  }
  std::vector<AffineLayer> decoder_layers() override { return {decoder_layer(*ae_)}; }
  void save_encoder(const std::string& path) override { carve::save_encoder(*ae_, to_string(spec_.model.type), path); }

 private:
  ExperimentSpec spec_;
  AutoEncoder ae_;
  ContractivePenalty contractive_;
  std::vector<torch::Tensor> params_;  // the same tensors across to(device), load and steps
  std::optional<FusedStep> fused_;     // training.step resolved to fused (fused_step.h)
};

class RBMModel : public Pretrainable {
 public:
  RBMModel(const ExperimentSpec& spec, int64_t inputs)
      : spec_(spec),
        rbm_(RBMOptions(inputs, spec.model.hidden).visible_units(spec.model.visible_units)),
        cd_(CDOptions().k(spec.model.cd_k).persistent(spec.model.persistent).chains(spec.model.chains)) {}

  torch::nn::Module& module() override { return *rbm_; }
  Encoder& encoder() override { return *rbm_; }
  bool reconstruction_in_step() const override { return false; }
  torch::Tensor compute_gradients(const torch::Tensor& x) override {
    cd_.accumulate(*rbm_, x);
    const double wd = spec_.regularizers.weight_decay.weight;
    double wd_term = 0;
    if (wd > 0) {
      torch::NoGradGuard no_grad;
      rbm_->weight.mutable_grad().add_(rbm_->weight, 2 * wd);  // d/dW of wd * sum W^2
      wd_term = rbm_->weight.pow(2).sum().item<double>();
    }
    return torch::tensor({0.0, wd_term, 0.0, 0.0, 0.0, wd * wd_term}, torch::kFloat64);
  }
  void count_step_products(int64_t b) const override {
    if (!profile::enabled()) return;
    using profile::Phase;
    const int64_t v = rbm_->weight.size(1), h = rbm_->weight.size(0);
    const bool persistent = spec_.model.persistent;
    const int64_t m = persistent && spec_.model.chains > 0 ? spec_.model.chains : b;  // the chains' rows
    const int64_t k = spec_.model.cd_k;
    // p(h | v0); per Gibbs step p(h | v) (not CD's first: it reuses p(h | v0)) and E[v | h]; p(h | vk).
    profile::count_product(Phase::pretraining_steps, "p(h | v) v W^T", {b, v, h, false, true});
    profile::count_product(Phase::pretraining_steps, "p(h | v) v W^T", {m, v, h, false, true}, persistent ? k + 1 : k);
    profile::count_product(Phase::pretraining_steps, "p(v | h) h W", {m, h, v, false, false}, k);
    profile::count_product(Phase::pretraining_steps, "weight gradient [h0; hk]^T [v0; vk]", {h, b + m, v, true, false});
  }
  double reconstruction_error(const torch::Tensor& x) override {
    torch::NoGradGuard no_grad;
    return rbm_->reconstruction_error(x).item<double>();
  }
  torch::Tensor reconstruct(const torch::Tensor& x) override {
    torch::NoGradGuard no_grad;
    return rbm_->visible_mean(rbm_->hidden_probability(x));
  }
  void save_state(torch::serialize::OutputArchive& archive) override {
    if (cd_.chains().defined()) archive.write("rbm_chains", cd_.chains().to(torch::TensorOptions().device(torch::kCPU), false, true));  // a copy: not the whole step buffer it views
  }
  void load_state(torch::serialize::InputArchive& archive) override {
    torch::Tensor chains;
    if (archive.try_read("rbm_chains", chains)) cd_.set_chains(chains.to(rbm_->weight.device()));
  }
  double pseudo_log_likelihood(const torch::Tensor& x, uint64_t seed) override {
    if (rbm_->options.visible_units() != VisibleUnits::binary || !x.defined() || x.size(0) == 0) return std::nan("");
    torch::NoGradGuard no_grad;
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    return rbm_->pseudo_log_likelihood(x, generator).item<double>();
  }
  nlohmann::json final_metrics(const torch::Tensor& test_x) override {
    nlohmann::json m = nlohmann::json::object();
    if (!test_x.defined() || test_x.size(0) == 0) return m;
    if (rbm_->options.visible_units() == VisibleUnits::binary) {
      torch::NoGradGuard no_grad;
      m["pseudo_log_likelihood"] = rbm_->pseudo_log_likelihood(test_x).item<double>();
    }
    double log_z = 0;
    if (rbm_->options.hidden() <= 20) {
      log_z = exact_log_partition(*rbm_);
      m["log_z_method"] = "exact";
    } else if (spec_.model.ais_betas > 0) {
      const auto ais = ais_log_partition(*rbm_, spec_.model.ais_runs, spec_.model.ais_betas);
      log_z = ais.log_z;
      m["log_z_method"] = "ais";
      m["log_z_standard_error"] = ais.standard_error;
    } else {
      return m;
    }
    m["log_z"] = log_z;
    m["log_likelihood"] = average_log_likelihood(*rbm_, test_x, log_z);
    return m;
  }
  // E[v | h]: sigmoid for binary visible units, linear for Gaussian ones (RBMImpl::visible_mean).
  std::vector<AffineLayer> decoder_layers() override {
    const bool binary = rbm_->options.visible_units() == VisibleUnits::binary;
    return {AffineLayer{rbm_->weight.t(), rbm_->visible_bias, binary ? Activation::sigmoid : Activation::linear}};
  }
  void save_encoder(const std::string& path) override {
    carve::save_encoder({AffineLayer{rbm_->weight, rbm_->bias, Activation::sigmoid}}, "rbm", path, decoder_layers());
  }

 private:
  ExperimentSpec spec_;
  RBM rbm_;
  ContrastiveDivergence cd_;
};

class StackedModel : public Pretrainable {
 public:
  explicit StackedModel(std::vector<std::shared_ptr<Pretrainable>> layers)
      : layers_(std::move(layers)), chain_(chain_layers(layers_)) {
    // The layers' parameters, shared: moving this module moves them.
    for (size_t k = 0; k < layers_.size(); ++k) {
      for (const auto& p : layers_[k]->module().named_parameters()) {
        holder_.register_parameter(fmt::format("layer_{}_{}", k + 1, p.key()), p.value(), false);
      }
    }
  }
  torch::nn::Module& module() override { return holder_; }
  Encoder& encoder() override { return chain_; }
  torch::Tensor compute_gradients(const torch::Tensor&) override {
    TORCH_CHECK(false, "a stack trains layer by layer, not as a whole");
  }
  double reconstruction_error(const torch::Tensor& x) override {
    return (reconstruct(x) - x).pow(2).sum(-1).mean().item<double>();
  }
  torch::Tensor reconstruct(const torch::Tensor& x) override {
    torch::NoGradGuard no_grad;
    auto a = chain_.code(x);
    for (const auto& l : decoder_layers()) a = activate(l.activation, torch::nn::functional::linear(a, l.weight, l.bias));
    return a;
  }
  std::vector<AffineLayer> decoder_layers() override {
    std::vector<AffineLayer> out;
    for (auto k = layers_.rbegin(); k != layers_.rend(); ++k) {
      for (const auto& l : (*k)->decoder_layers()) out.push_back(l);
    }
    return out;
  }
  void save_encoder(const std::string& path) override {
    carve::save_encoder(chain_.affine_layers(), "stack", path, decoder_layers());
  }

 private:
  static AffineChain chain_layers(const std::vector<std::shared_ptr<Pretrainable>>& layers) {
    std::vector<AffineLayer> chain;
    for (const auto& m : layers)
      for (const auto& l : m->encoder().affine_layers()) chain.push_back(l);
    return AffineChain(chain);
  }
  std::vector<std::shared_ptr<Pretrainable>> layers_;
  AffineChain chain_;
  torch::nn::Module holder_;
};

}  // namespace

std::unique_ptr<Pretrainable> make_stacked(std::vector<std::shared_ptr<Pretrainable>> layers) {
  TORCH_CHECK(!layers.empty(), "make_stacked: no layers");
  return std::make_unique<StackedModel>(std::move(layers));
}

double mean_reconstruction_error(Pretrainable& model, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  double total = 0;
  for (int64_t i = 0; i < x.size(0); i += 1000) {
    const auto batch = x.slice(0, i, i + 1000);
    total += model.reconstruction_error(batch) * static_cast<double>(batch.size(0));
  }
  return total / static_cast<double>(x.size(0));
}

void Pretrainable::use_step(const std::string& step) {
  if (step == "fused") throw UsageError("training.step: this model has no fused step");
}

std::unique_ptr<Pretrainable> make_pretrainable(const ExperimentSpec& spec, int64_t inputs) {
  const bool fused = uses_fused_step(spec);  // training.step: fused where it does not apply is refused here, for every model
  if (spec.model.type == ModelType::rbm) return std::make_unique<RBMModel>(spec, inputs);
  return std::make_unique<AutoEncoderModel>(spec, inputs, fused);
}

}  // namespace carve
