// carve's penalties as functions of tensors only: the kernels of the PyTorch operators
// (`torch.ops.carve.*`, registered by the carve_ops shared library, python/csrc/operators.cpp),
// also callable from C++. Module arguments are impossible in an operator schema, so:
//
//   analytic     the input and the encoder's layers as weights [out, in], biases [out] and
//                activation names ("sigmoid", "tanh", "softplus", "relu", "linear"), first
//                layer first; the closed form of carve/penalty/contractive.h;
//   exact,       the input x (requiring grad) and the code h = f(x) the caller computed on its
//   stochastic   own graph: vector-Jacobian products on that graph (carve/penalty/jacobian.h's
//                for_each_graph_jacobian_slice), so any differentiable encoder works;
//   exact on     the input and the layers as for analytic: autograd on carve's own forward pass
//   layers       of that chain (carve/penalty/jacobian.h's factored mode available), the
//                gradient reaching the weights and biases, x taken as data;
//   higher-order the same pairs plus x_tilde, C corrupted copies of the batch stacked (row c*B + b
//                corrupts example b), and for the exact form h_tilde = f(x_tilde).
//
// Every kernel is built from differentiable tensor operations: autograd, double backward where
// the underlying operations offer it, and any device the inputs live on.
//
//   auto x = batch.detach().requires_grad_();
//   auto h = torch::sigmoid(torch::linear(x, w, b));
//   auto loss = recon + 0.1 * carve::ops::contractive_exact(x, h, "auto");
#pragma once

#include <torch/torch.h>

#include <string>
#include <tuple>
#include <vector>

namespace carve::ops {

/// The closed form on the layers given as tensors (carve/penalty/contractive.h).
torch::Tensor contractive_analytic(const torch::Tensor& x, const std::vector<torch::Tensor>& weights,
                                   const std::vector<torch::Tensor>& biases,
                                   const std::vector<std::string>& activations);

// mode: "auto", "forward" or "reverse" (carve/penalty/jacobian.h).
torch::Tensor contractive_exact(const torch::Tensor& x, const torch::Tensor& h,
                                const std::string& mode);

// The exact penalty of the chain given as for contractive_analytic, by autograd in `mode`:
// "auto" (the chain's cost model: factored but for codes much narrower than the input),
// "factored", "forward" or "reverse". Differentiable once with respect to the weights and
// biases (each block of J is differentiated as it is formed); x is data.
torch::Tensor contractive_exact_layers(const torch::Tensor& x, const std::vector<torch::Tensor>& weights,
                                       const std::vector<torch::Tensor>& biases,
                                       const std::vector<std::string>& activations,
                                       const std::string& mode);

// (value, standard error over the projections; NaN for one). projection: "gaussian" or
// "rademacher", drawn from torch's default generator (torch.manual_seed seeds it).
std::tuple<torch::Tensor, torch::Tensor> contractive_stochastic(const torch::Tensor& x,
                                                                const torch::Tensor& h,
                                                                int64_t projections,
                                                                const std::string& projection);

/// The higher-order penalty on given corruptions: closed form on the layers, or exact on the
/// caller's graphs of h = f(x) and h_tilde = f(x_tilde).
torch::Tensor higher_order_analytic(const torch::Tensor& x, const torch::Tensor& x_tilde,
                                    const std::vector<torch::Tensor>& weights,
                                    const std::vector<torch::Tensor>& biases,
                                    const std::vector<std::string>& activations);
torch::Tensor higher_order_exact(const torch::Tensor& x, const torch::Tensor& h,
                                 const torch::Tensor& x_tilde, const torch::Tensor& h_tilde,
                                 const std::string& mode);

}  // namespace carve::ops
