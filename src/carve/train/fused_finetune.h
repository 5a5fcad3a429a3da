/// The fused fine-tuning step (issue 29, point 3): the gradients of the mean cross-entropy of a
/// softmax MLP — hidden Linear + elementwise layers topped by a linear output layer, the network
/// fine-tuning trains — from their closed form, into buffers kept across steps and into the
/// gradients' own storage, with no autograd graph. For one hidden layer it makes the five matrix
/// products the computation requires (two forward; in the backward the output layer's weight
/// gradient, the code's gradient and the hidden layer's weight gradient) and never the input's
/// gradient; with the hidden layers frozen (linear probe) only the output layer's two.
///
/// Each stage is the ATen kernel that autograd's own backward of the same forward calls
/// (addmm's products at the same shapes, _log_softmax_backward_data, nll_loss_backward,
/// sigmoid/tanh/softplus/threshold backward), so the gradients equal the autograd step's: to
/// 1e-10 in float64 over every activation, depth, mode and optimizer (tests/train/
/// fused_finetune_test.cpp), and on the CPU bit for bit in practice.
///
/// `finetune.step` chooses: `auto` and `fused` (the fused step covers every network fine-tuning
/// builds) or `autograd`; summary.json's `finetune.step` says which ran.
///
///   carve::FusedMlpStep step(/*train_hidden=*/true);
///   torch::Tensor loss = step.compute_gradients(hidden, out_w, out_b, x, y);  // .grad() written
#pragma once

#include <torch/torch.h>

#include <vector>

#include "carve/nn/encoder.h"

namespace carve {

/// The step of the file comment, for one network; it keeps its buffers across calls (an epoch's
/// last, smaller batch allocates nothing).
class FusedMlpStep {
 public:
  /// train_hidden false: the hidden layers are frozen (finetune.mode: linear_probe) and only the
  /// output layer's gradients are written.
  explicit FusedMlpStep(bool train_hidden) : train_hidden_(train_hidden) {}

  /// Writes d loss / d p into p.grad() (in the storage of the previous step's gradient when it
  /// has p's shape) for the output layer's out_w [C, H] and out_b [C] and, when training the
  /// hidden layers, every hidden weight and bias, for the batch x [B, D] with classes y [B]
  /// (int64); returns the mean cross-entropy (a 0-dim tensor of x's dtype), as
  /// torch::nn::functional::cross_entropy gives it.
  torch::Tensor compute_gradients(const std::vector<AffineLayer>& hidden, const torch::Tensor& out_w,
                                  const torch::Tensor& out_b, const torch::Tensor& x, const torch::Tensor& y);

 private:
  bool train_hidden_;
  // Per hidden layer: its output h, its pre-activation (softplus only: its backward reads the
  // input), and the gradient with respect to its output, then its pre-activation.
  std::vector<torch::Tensor> h_, a_, dh_;
  torch::Tensor logits_, log_probs_, d_log_probs_, d_logits_, one_;
};

}  // namespace carve
