#include "carve/train/pretrainable.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "carve/export/torchscript.h"
#include "carve/metrics/partition.h"
#include "carve/train/contrastive_divergence.h"
#include "carve/train/trainer.h"
#include "models/autoencoder.h"
#include "models/rbm.h"

namespace carve {

namespace {

class AutoEncoderModel : public Pretrainable {
 public:
  AutoEncoderModel(const ExperimentSpec& spec, int64_t inputs)
      : spec_(spec),
        ae_(AutoEncoderOptions(inputs, spec.model.hidden)
                .activation(spec.model.activation)
                .decoder_activation(spec.model.decoder_activation)
                .tied(spec.model.tied)
                .loss(spec.model.loss)),
        contractive_(contractive_penalty(spec)),
        params_(ae_->parameters()) {}

  torch::nn::Module& module() override { return *ae_; }
  Encoder& encoder() override { return *ae_; }
  torch::Tensor compute_gradients(const torch::Tensor& x) override {
    clear_gradients(params_);
    auto [loss, terms] = training_loss(*ae_, spec_, contractive_, x);
    if (torch::isfinite(terms).all().item<bool>()) loss.backward({}, c10::nullopt, false, params_);
    return terms;
  }
  double reconstruction_error(const torch::Tensor& x) override {
    torch::NoGradGuard no_grad;
    return ae_->reconstruction_loss(x).item<double>();
  }
  torch::Tensor reconstruct(const torch::Tensor& x) override {
    torch::NoGradGuard no_grad;
    return ae_->forward(x);
  }
  void save_encoder(const std::string& path) override { carve::save_encoder(*ae_, to_string(spec_.model.type), path); }

 private:
  ExperimentSpec spec_;
  AutoEncoder ae_;
  ContractivePenalty contractive_;
  std::vector<torch::Tensor> params_;  // the same tensors across to(device), load and steps
};

class RBMModel : public Pretrainable {
 public:
  RBMModel(const ExperimentSpec& spec, int64_t inputs)
      : spec_(spec),
        rbm_(RBMOptions(inputs, spec.model.hidden).visible_units(spec.model.visible_units)),
        cd_(CDOptions().k(spec.model.cd_k).persistent(spec.model.persistent).chains(spec.model.chains)) {}

  torch::nn::Module& module() override { return *rbm_; }
  Encoder& encoder() override { return *rbm_; }
  torch::Tensor compute_gradients(const torch::Tensor& x) override {
    const auto h0 = cd_.accumulate(*rbm_, x);
    const double wd = spec_.regularizers.weight_decay.weight;
    double wd_term = 0;
    if (wd > 0) {
      torch::NoGradGuard no_grad;
      rbm_->weight.mutable_grad().add_(rbm_->weight, 2 * wd);  // d/dW of wd * sum W^2
      wd_term = rbm_->weight.pow(2).sum().item<double>();
    }
    double rec;
    {
      // reconstruction_error(x) from the positive phase CD already computed (same parameters).
      torch::NoGradGuard no_grad;
      rec = (rbm_->visible_mean(h0) - x).pow(2).sum(-1).mean().item<double>();
    }
    return torch::tensor({rec, wd_term, 0.0, 0.0, 0.0, rec + wd * wd_term}, torch::kFloat64);
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
    if (cd_.chains().defined()) archive.write("rbm_chains", cd_.chains().cpu());
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
  void save_encoder(const std::string& path) override {
    carve::save_encoder(AffineLayer{rbm_->weight, rbm_->bias, Activation::sigmoid}, "rbm", path);
  }

 private:
  ExperimentSpec spec_;
  RBM rbm_;
  ContrastiveDivergence cd_;
};

}  // namespace

double mean_reconstruction_error(Pretrainable& model, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  double total = 0;
  for (int64_t i = 0; i < x.size(0); i += 1000) {
    const auto batch = x.slice(0, i, i + 1000);
    total += model.reconstruction_error(batch) * static_cast<double>(batch.size(0));
  }
  return total / static_cast<double>(x.size(0));
}

std::unique_ptr<Pretrainable> make_pretrainable(const ExperimentSpec& spec, int64_t inputs) {
  if (spec.model.type == ModelType::rbm) return std::make_unique<RBMModel>(spec, inputs);
  return std::make_unique<AutoEncoderModel>(spec, inputs);
}

}  // namespace carve
