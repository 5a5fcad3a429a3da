// The higher-order contractive penalty of CAE+H (Rifai et al., ECML 2011):
//
//   E_eps ||J_f(x) - J_f(x + eps)||_F^2,   eps ~ N(0, sigma^2 I),
//
// estimated with `corruptions` draws per example (from torch's global generator), mean over
// draws and batch. It penalizes the curvature of the encoder (the Hessian, stochastically) and
// tends to 0 as sigma -> 0. The Jacobians come from the same machinery as the contractive
// penalty: analytic (closed form per layer, never forming J for one layer) or exact (autograd).
//
//   carve::HigherOrderOptions opts;
//   opts.sigma(0.3).corruptions(4);
//   auto loss = recon + lambda * contractive + gamma * carve::higher_order_penalty(*ae, x, opts);
#pragma once

#include <torch/torch.h>

#include "carve/nn/encoder.h"
#include "carve/penalty/contractive.h"

namespace carve {

/// Options of the higher-order penalty (regularizers.higher_order in an experiment file).
struct HigherOrderOptions {
  TORCH_ARG(double, sigma) = 0.1;
  TORCH_ARG(int64_t, corruptions) = 4;
  // analytic or exact (the Jacobian source; stochastic is not a Jacobian).
  TORCH_ARG(ContractiveMethod, method) = ContractiveMethod::analytic;
  TORCH_ARG(JacobianMode, mode) = JacobianMode::automatic;
  TORCH_ARG(int64_t, chunk_bytes) = int64_t(256) << 20;
};

// `pass`, when given, is the encoder's pass on x (reused for J(x)).
torch::Tensor higher_order_penalty(Encoder& encoder, const torch::Tensor& x,
                                   const HigherOrderOptions& options,
                                   const EncoderPass* pass = nullptr);

// The same with the corrupted batches given (x + eps, one per corruption; options' sigma and
// corruptions are not used): the mean over them of mean_b ||J(x_b) - J(x~_b)||_F^2.
torch::Tensor higher_order_penalty_at(Encoder& encoder, const torch::Tensor& x,
                                      const std::vector<torch::Tensor>& corrupted,
                                      const HigherOrderOptions& options,
                                      const EncoderPass* pass = nullptr);

// On graphs the caller formed (the operators' form, like contractive_exact_on_graph): h = f(x)
// and h_tilde = f(x_tilde), where x_tilde stacks C corrupted copies of the batch (row c*B + b
// corrupts example b) and both x and x_tilde require grad. Differentiable under grad mode.
torch::Tensor higher_order_exact_on_graph(const torch::Tensor& x, const torch::Tensor& h,
                                          const torch::Tensor& x_tilde, const torch::Tensor& h_tilde,
                                          JacobianMode mode = JacobianMode::automatic);

}  // namespace carve
