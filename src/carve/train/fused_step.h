/// The fused training step of a one-layer auto-encoder (issue 17, point 1): the loss terms and the
/// gradients of every parameter from their closed form — a fixed sequence of five matrix products
/// (encode, decode, and in the backward the code's gradient, the decoder's and the encoder's
/// weight gradients) and elementwise passes into buffers kept across steps — with no autograd
/// graph. It covers: one layer, tied or untied; any elementwise encoder activation; a sigmoid or
/// linear decoder; cross-entropy or squared-error reconstruction; input corruption; weight decay;
/// the analytic contractive penalty; L1 or KL sparsity. Everything else (higher-order CAE, the
/// exact or stochastic contractive penalty, RBMs, stacks) trains through autograd.
///
/// `training.step` chooses: `auto` (fused where it applies), `fused` (an error where it does not)
/// or `autograd`. Its gradients equal autograd's to 1e-10 in float64 (tests/train/fused_step_test.cpp).
///
///   carve::FusedStep step(*ae, spec);                       // fused_step_gap(spec) == ""
///   torch::Tensor terms = step.compute_gradients(x, xin);  // p.grad() written for every parameter
#pragma once

#include <torch/torch.h>

#include <string>

#include "carve/config/experiment.h"
#include "carve/models/autoencoder.h"

namespace carve {

/// Why the fused step does not cover `spec` ("" when it does).
std::string fused_step_gap(const ExperimentSpec& spec);

/// Whether a run of `spec` trains with the fused step: training.step resolved (auto: where it
/// applies). UsageError when `fused` is asked for a spec it does not cover, naming why.
bool uses_fused_step(const ExperimentSpec& spec);

/// The step itself, for one auto-encoder and spec (its regularizers).
class FusedStep {
 public:
  FusedStep(AutoEncoderImpl& ae, const ExperimentSpec& spec);

  /// Writes d loss / d p into p.grad() for every parameter of the auto-encoder (into the storage
  /// of the previous step's gradient when it has the parameter's shape), for the batch x
  /// (the reconstruction's target) with input xin (x corrupted, or x itself), and returns the loss
  /// terms [reconstruction, weight decay, contractive, higher-order (0), sparsity, total] in
  /// float64, as the autograd step does. With a non-finite loss the gradients are left undefined.
  torch::Tensor compute_gradients(const torch::Tensor& x, const torch::Tensor& xin);

 private:
  AutoEncoderImpl& ae_;
  double weight_decay_, contractive_, sparsity_, sparsity_target_;
  bool kl_sparsity_;
  // Buffers kept across steps: the code, Z then dZ, dh then dA, and scratch for the
  // reconstruction's terms [B, D] and the penalty's [B, H].
  torch::Tensor h_, z_, dh_, scratch_, code_scratch_, zero_;
  struct TermScales {
    torch::Tensor scale, weight;  // [5] float64 each, for batches of n examples
    double n = 0;
  } scales_;
  const TermScales& term_scales(double n, const torch::Device& device);
};

}  // namespace carve
