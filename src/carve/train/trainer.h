// Runs one experiment into a run directory:
//
//   runs/<name>/config.yaml     the resolved configuration
//               metrics.csv     one row per epoch (every loss term, valid reconstruction,
//                               mean ||J_f(x)||_F, saturation, learning rate, seconds)
//               summary.json    final and best metrics, carve version, command line
//               checkpoint.pt   written atomically every epoch and when stopped (SIGINT,
//                               SIGTERM: carve/train/stop.h) mid-epoch: model, optimizer,
//                               random state, position, history; what --resume continues from
//               encoder.pt      TorchScript encoder (carve/export/torchscript.h)
//               log.txt         one line per epoch
//               finetune.csv, finetune.pt, classifier.pt   with fine-tuning (carve/train/finetune.h)
//
// The loss of a step is reconstruction + sum of weight * regularizer, on a corrupted input
// when corruption is set (the reconstruction target stays clean). Determinism: the seed seeds
// torch (initialisation, corruption, stochastic projections) and the batch order of each epoch
// (a permutation drawn from the seed and the epoch number); a CPU run with a fixed thread count
// is bit-reproducible, and a resumed run continues the same streams.
//
//   carve::RunOptions opts; opts.out = "runs/cae";
//   carve::RunResult r = carve::run_experiment(carve::load_experiment("exp.yaml"), opts);
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "carve/config/experiment.h"
#include "carve/data/splits.h"
#include "carve/penalty/contractive.h"
#include "carve/profile.h"
#include "carve/train/observer.h"
#include "carve/models/autoencoder.h"

namespace carve {

// A run that failed after it started (a NaN loss, say). Exit code 1.
class TrainingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// How to run an experiment: where, on which device, resuming or overwriting, who observes.
struct RunOptions {
  std::string out;             // run directory; "" = runs/<name>
  std::string device;          // "" = the spec's
  bool resume = false;
  bool force = false;
  std::string command_line;    // recorded in summary.json
  Observers observers;            // told of every step, epoch and message (the CLI prints them)
};

/// What a run gave: its directory and its summary.json.
struct RunResult {
  std::string directory;
  nlohmann::json summary;
};

// `splits`, when given, replaces the spec's data (a stack's upper layers train on codes).
// On a stop request (carve/train/stop.h) it checkpoints where it is and throws Interrupted.
RunResult run_experiment(const ExperimentSpec& spec, const RunOptions& options, const Splits* splits = nullptr);

// The loss of one batch x under `spec` (corruption, reconstruction, every regularizer), what a
// training step differentiates. terms = [reconstruction, weight decay, contractive, higher
// order, sparsity, total], unweighted except the total.
struct BatchLoss {
  torch::Tensor loss;
  torch::Tensor terms;  // float64 [6], detached
};
BatchLoss training_loss(AutoEncoderImpl& ae, const ExperimentSpec& spec, const ContractivePenalty& contractive,
                        const torch::Tensor& x);
// Sets the gradients to undefined rather than zero, so that the next backward writes them
// directly: two fewer passes over every weight per step than zeroing and accumulating.
void clear_gradients(const std::vector<torch::Tensor>& params);
// The parameter's .grad for a step that writes it in place (the fused step, CD): the previous
// step's storage where it has the parameter's shape, dtype and device, else a new empty tensor.
torch::Tensor& gradient_storage(torch::Tensor& parameter);
// Rows [0, rows) of a buffer kept across steps (the fused steps'); it grows (never shrinks) to
// rows x cols in like's dtype and device, so an epoch's last, smaller batch allocates nothing.
torch::Tensor rows_of(torch::Tensor& buffer, int64_t rows, int64_t cols, const torch::Tensor& like);
// Counts in carve::profile (carve bench run) the forward products of `rows` examples through
// `layers` (x Wᵀ per layer, W [out, in]); nothing when no profile is on.
void count_forward(profile::Phase phase, const char* name, const std::vector<AffineLayer>& layers, int64_t rows);
// x with the spec's corruption applied (x itself for none): the input of a denoising step.
torch::Tensor corrupt(const CorruptionSpec& corruption, const torch::Tensor& x);
// The contractive penalty a spec asks for.
ContractivePenalty contractive_penalty(const ExperimentSpec& spec);

// ||J_f(x)||^2_F of each example of x and the code rescaled to [0, 1] (sigmoid as is, tanh from
// [-1, 1]; undefined for unbounded activations), for any chain of Linear + elementwise layers.
struct ContractionMeasures {
  torch::Tensor per_example_sq;  // [N]
  torch::Tensor code;            // [N, code units] or undefined
};
ContractionMeasures contraction_measures(Encoder& encoder, const torch::Tensor& x);

// Mean per-example ||J_f(x)||_F over x and the saturation of the code (fraction of units within
// tau of the activation's bounds; NaN for unbounded activations).
std::pair<double, double> contraction_metrics(Encoder& encoder, const torch::Tensor& x, double tau);
// The same from measures already taken (a summary that reports both these and paper_units measures once).
std::pair<double, double> contraction_metrics(const ContractionMeasures& measures, double tau);

// summary.json's paper_units: Table 1's Jacobian measure and SAT in the units chosen by the fit to
// the paper (kChosenJacobian, kChosenSaturation of carve/metrics/paper_units.h), with every
// candidate: {"jacobian", "jacobian_unit", "saturation", "saturation_unit", "candidates"}.
nlohmann::json paper_units(Encoder& encoder, const torch::Tensor& x);
nlohmann::json paper_units(const ContractionMeasures& measures, int64_t input_size);

// The default run directory of an experiment.
std::string default_run_directory(const ExperimentSpec& spec);

}  // namespace carve
