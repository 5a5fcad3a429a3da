// What the runner needs of a model it pretrains, so that auto-encoders and RBMs share one
// training loop, one checkpoint format, resume, metrics and export:
//
//   auto model = carve::make_pretrainable(spec, inputs);
//   auto terms = model->compute_gradients(x);   // .grad written; terms for metrics.csv
//   optimizer.step();
//
// Auto-encoders differentiate training_loss (reconstruction + weighted regularizers); RBMs write
// the CD-k / PCD-k estimate of the negative log-likelihood gradient (plus weight decay).
#pragma once

#include <torch/torch.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "carve/config/experiment.h"
#include "carve/nn/affine_chain.h"
#include "carve/nn/encoder.h"

namespace carve {

/// A model the trainer can pretrain, an auto-encoder or an RBM, behind one interface.
class Pretrainable {
 public:
  virtual ~Pretrainable() = default;
  virtual torch::nn::Module& module() = 0;
  virtual Encoder& encoder() = 0;
  // Clears the parameters' gradients and writes this batch's; returns the terms
  // [reconstruction, weight decay, contractive, higher order, sparsity, loss] as float64 [6].
  virtual torch::Tensor compute_gradients(const torch::Tensor& x) = 0;
  /// The step compute_gradients takes: "fused" (carve/train/fused_step.h) or "autograd" (an RBM's CD
  /// counts as autograd: it is not the fused step); use_step switches to the one a checkpoint
  /// recorded (UsageError for "fused" where it does not apply).
  virtual std::string step() const { return "autograd"; }
  virtual void use_step(const std::string& step);
  /// Whether compute_gradients' terms include the batch's reconstruction. An RBM's step has no
  /// use for it (issue 17, point 2: monitoring off the hot path): its terms carry 0 there and the
  /// trainer measures the reconstruction once an epoch, over the first training.metric_examples
  /// training examples, and adds it to the epoch's loss.
  virtual bool reconstruction_in_step() const { return true; }
  /// Counts, in carve::profile (carve bench run), the matrix products a step of `batch` examples
  /// requires: an auto-encoder's five (encode, decode, the code's gradient, the two weight
  /// gradients; a penalty's own products beyond them are not counted), CD-k's list
  /// (contrastive_divergence.h). Nothing when no profile is on.
  virtual void count_step_products(int64_t batch) const { (void)batch; }
  // Mean per-example reconstruction error over x (the model's own measure), without gradients.
  virtual double reconstruction_error(const torch::Tensor& x) = 0;
  virtual torch::Tensor reconstruct(const torch::Tensor& x) = 0;
  // State beyond the parameters that a checkpoint must carry (PCD chains).
  virtual void save_state(torch::serialize::OutputArchive& archive) { (void)archive; }
  virtual void load_state(torch::serialize::InputArchive& archive) { (void)archive; }
  // The per-epoch pseudo-log-likelihood of x for metrics.csv, its random flips drawn from a
  // generator seeded with `seed`; NaN for models without one (auto-encoders, Gaussian RBMs).
  virtual double pseudo_log_likelihood(const torch::Tensor& x, uint64_t seed) {
    (void)x, (void)seed;
    return std::nan("");
  }
  // Metrics that only this kind of model has (an RBM's log-likelihood), for summary.json.
  virtual nlohmann::json final_metrics(const torch::Tensor& test_x) { (void)test_x; return nlohmann::json::object(); }
  // The decoder, as the layers that map a code back to the input space (for export).
  virtual std::vector<AffineLayer> decoder_layers() = 0;
  // encoder.pt: the encoder with its decoder (carve/export/torchscript.h).
  virtual void save_encoder(const std::string& path) = 0;
};

// Mean per-example reconstruction error over all of x, in batches of 1000 examples.
double mean_reconstruction_error(Pretrainable& model, const torch::Tensor& x);

/// The model an experiment's `model:` block describes, for `inputs` values per example.
std::unique_ptr<Pretrainable> make_pretrainable(const ExperimentSpec& spec, int64_t inputs);

// A trained stack read back from its layers' models (in order, bottom first): its encoder is the
// chain of their encoders, its decoder their decoders from the top down, its reconstruction error
// the per-example squared error of decode(encode(x)). It does not train: compute_gradients
// refuses (a stack trains layer by layer, carve/orchestration/stack.h).
std::unique_ptr<Pretrainable> make_stacked(std::vector<std::shared_ptr<Pretrainable>> layers);

}  // namespace carve
