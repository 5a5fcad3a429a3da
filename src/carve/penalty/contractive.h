// The contractive penalty ||J_f(x)||_F^2 (Rifai et al., ICML 2011): per-example squared
// Frobenius norm of the encoder's Jacobian, mean over the batch, differentiable with respect to
// every live encoder parameter. Three independent methods that must agree:
//
//   analytic    closed form for Linear + elementwise layers: sum_j f'(a_j)^2 sum_i W_ji^2 for
//               one layer, the explicit product diag(f') W ... diag(f') W for a stack;
//   exact       autograd only (carve/penalty/jacobian.h): J is formed block by block and each
//               block is differentiated by a true double backward right away, so memory stays
//               under `chunk_bytes` whatever the size of J; works for any differentiable encoder;
//   stochastic  Hutchinson's estimate E_v ||v^T J||^2 with `projections` draws of v (Gaussian
//               or Rademacher, E[v v^T] = I), unbiased, with its standard error.
//
//   carve::ContractivePenalty penalty(carve::ContractiveOptions().method(
//       carve::ContractiveMethod::analytic));
//   auto pass = penalty.make_pass(*ae, x);      // the forward pass, shared
//   auto loss = ae->reconstruction_loss(x, pass.code()) + lambda * penalty(*ae, pass).value;
//   loss.backward({}, c10::nullopt, false, ae->parameters());
//
// An EncoderPass lets the penalty reuse the forward pass of the reconstruction: the analytic
// method then costs one [B, H] x [H] product on top of a training step. A step that shares a
// pass should back-propagate to the parameters only (Tensor::backward's `inputs`): the
// stochastic method's pass has an input that requires grad, whose gradient is never needed.
#pragma once

#include <torch/torch.h>

#include <limits>
#include <string>
#include <vector>

#include "carve/nn/encoder.h"
#include "carve/penalty/jacobian.h"

namespace carve {

/// The three methods (file comment) and the two kinds of random projection.
enum class ContractiveMethod { analytic, exact, stochastic };
enum class Projection { gaussian, rademacher };

/// Names as in experiment files ("analytic", "gaussian", ...); an unknown one throws UsageError
/// listing the known ones.
ContractiveMethod parse_contractive_method(const std::string& name);
std::string to_string(ContractiveMethod method);
Projection parse_projection(const std::string& name);
std::string to_string(Projection projection);

/// Options of ContractivePenalty (regularizers.contractive in an experiment file).
struct ContractiveOptions {
  TORCH_ARG(ContractiveMethod, method) = ContractiveMethod::analytic;
  // stochastic: number of random projections v per example.
  TORCH_ARG(int64_t, projections) = 1;
  TORCH_ARG(Projection, projection) = Projection::gaussian;
  // exact: forward, reverse or factored mode (jacobian.h) and the memory cap of one block.
  TORCH_ARG(JacobianMode, mode) = JacobianMode::automatic;
  TORCH_ARG(int64_t, chunk_bytes) = int64_t(256) << 20;
};

// A batch and the outputs of every encoder layer computed from it.
struct EncoderPass {
  torch::Tensor input;
  std::vector<torch::Tensor> outputs;

  const torch::Tensor& code() const { return outputs.back(); }
  // Runs the encoder; with input_grad the input is a fresh leaf that requires grad (what the
  // stochastic method differentiates against).
  static EncoderPass of(Encoder& encoder, const torch::Tensor& x, bool input_grad = false);
};

/// A penalty's value, a differentiable scalar, and the stochastic method's standard error.
struct PenaltyValue {
  torch::Tensor value;  // scalar
  // Standard error of the stochastic estimate over projections (NaN with one projection and for
  // the deterministic methods).
  double standard_error = std::numeric_limits<double>::quiet_NaN();
};

/// The penalty by one method, on an encoder and a batch, or on a pass shared with the
/// reconstruction (usage in the file comment).
class ContractivePenalty {
 public:
  explicit ContractivePenalty(ContractiveOptions options = {});

  PenaltyValue operator()(Encoder& encoder, const torch::Tensor& x) const;
  PenaltyValue operator()(Encoder& encoder, const EncoderPass& pass) const;

  // The encoder's forward pass on x in the form this penalty can reuse.
  EncoderPass make_pass(Encoder& encoder, const torch::Tensor& x) const;
  const ContractiveOptions& options() const { return options_; }

 private:
  PenaltyValue exact(Encoder& encoder, const torch::Tensor& x) const;
  PenaltyValue stochastic_on_fresh_pass(Encoder& encoder, const torch::Tensor& x) const;

  ContractiveOptions options_;
};

// The three methods as free functions.
torch::Tensor contractive_analytic(const std::vector<AffineLayer>& layers,
                                   const std::vector<torch::Tensor>& outputs);
torch::Tensor contractive_exact(Encoder& encoder, const torch::Tensor& x,
                                const ExactJacobianOptions& options = {});
PenaltyValue contractive_stochastic(const EncoderPass& pass, int64_t projections,
                                    Projection projection);

// The exact penalty of a graph the caller formed, h = f(x) with x requiring grad (the form the
// PyTorch operators take; carve/penalty/jacobian.h's for_each_graph_jacobian_slice): squared
// Frobenius norm of each example's J, mean over the batch. Under grad mode it is differentiable
// with respect to x and everything h depends on (a true double backward); without, one slice of
// J is alive at a time. The stochastic method takes the same pair: EncoderPass{x, {h}}.
torch::Tensor contractive_exact_on_graph(const torch::Tensor& x, const torch::Tensor& h,
                                         JacobianMode mode = JacobianMode::automatic);

// Random projection vectors with E[v v^T] = I, from torch's global generator.
torch::Tensor random_projection(Projection projection, at::IntArrayRef sizes,
                                const torch::TensorOptions& options);

}  // namespace carve
