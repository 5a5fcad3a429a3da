#include "carve/export/operators.h"

#include <fmt/format.h>

#include "carve/error.h"
#include "carve/nn/affine_chain.h"
#include "carve/penalty/contractive.h"
#include "carve/penalty/higher_order.h"
#include "carve/penalty/jacobian.h"

namespace carve::ops {
namespace {

// carve's parsers throw UsageError; in an operator a bad argument is a ValueError in Python.
template <typename Parse>
auto parse_argument(Parse parse, const std::string& value) {
  try {
    return parse(value);
  } catch (const UsageError& e) {
    C10_THROW_ERROR(ValueError, e.what());
  }
}

AffineChain chain_of(const torch::Tensor& x, const std::vector<torch::Tensor>& weights,
                     const std::vector<torch::Tensor>& biases,
                     const std::vector<std::string>& activations, const char* what = "analytic") {
  TORCH_CHECK_VALUE(!weights.empty(), "the ", what, " penalty needs at least one layer");
  TORCH_CHECK_VALUE(weights.size() == biases.size() && weights.size() == activations.size(),
                    "one bias and one activation per weight: got ", weights.size(), " weights, ",
                    biases.size(), " biases and ", activations.size(), " activations");
  TORCH_CHECK_VALUE(x.dim() == 2, "the ", what, " penalty takes a batch x [B, inputs], got ",
                    x.sizes());
  std::vector<AffineLayer> layers;
  int64_t width = x.size(1);
  for (size_t l = 0; l < weights.size(); ++l) {
    const auto& w = weights[l];
    const auto& b = biases[l];
    TORCH_CHECK_VALUE(w.dim() == 2 && w.size(1) == width, "layer ", l, ": weight ", w.sizes(),
                      " does not take ", width, " inputs (weights are [out, in])");
    TORCH_CHECK_VALUE(b.dim() == 1 && b.size(0) == w.size(0), "layer ", l, ": bias ", b.sizes(),
                      " does not match weight ", w.sizes());
    layers.push_back({w, b, parse_argument(parse_activation, activations[l])});
    width = w.size(0);
  }
  return AffineChain(std::move(layers));
}

}  // namespace

torch::Tensor contractive_analytic(const torch::Tensor& x, const std::vector<torch::Tensor>& weights,
                                   const std::vector<torch::Tensor>& biases,
                                   const std::vector<std::string>& activations) {
  auto chain = chain_of(x, weights, biases, activations);
  return carve::contractive_analytic(chain.affine_layers(), chain.encode_layers(x));
}

torch::Tensor contractive_exact(const torch::Tensor& x, const torch::Tensor& h,
                                const std::string& mode) {
  return contractive_exact_on_graph(x, h, parse_argument(parse_jacobian_mode, mode));
}

torch::Tensor contractive_exact_layers(const torch::Tensor& x, const std::vector<torch::Tensor>& weights,
                                       const std::vector<torch::Tensor>& biases,
                                       const std::vector<std::string>& activations,
                                       const std::string& mode) {
  auto chain = chain_of(x, weights, biases, activations, "exact");
  return carve::contractive_exact(
      chain, x, ExactJacobianOptions().mode(parse_argument(parse_jacobian_mode, mode)));
}

std::tuple<torch::Tensor, torch::Tensor> contractive_stochastic(const torch::Tensor& x,
                                                                const torch::Tensor& h,
                                                                int64_t projections,
                                                                const std::string& projection) {
  check_graph_pair(x, h);
  TORCH_CHECK_VALUE(projections >= 1, "projections must be at least 1, got ", projections);
  EncoderPass pass{x, {h}};
  const auto result = carve::contractive_stochastic(
      pass, projections, parse_argument(parse_projection, projection));
  return {result.value, torch::scalar_tensor(result.standard_error, torch::kFloat64)};
}

torch::Tensor higher_order_analytic(const torch::Tensor& x, const torch::Tensor& x_tilde,
                                    const std::vector<torch::Tensor>& weights,
                                    const std::vector<torch::Tensor>& biases,
                                    const std::vector<std::string>& activations) {
  auto chain = chain_of(x, weights, biases, activations);
  TORCH_CHECK_VALUE(x_tilde.dim() == 2 && x_tilde.size(1) == x.size(1) && x.size(0) > 0 &&
                        x_tilde.size(0) >= x.size(0) && x_tilde.size(0) % x.size(0) == 0,
                    "x_tilde must stack corrupted copies of the batch x ", x.sizes(),
                    " (C * B rows), got ", x_tilde.sizes());
  const auto corrupted = x_tilde.split(x.size(0));
  return higher_order_penalty_at(chain, x, std::vector<torch::Tensor>(corrupted.begin(), corrupted.end()),
                                 HigherOrderOptions().method(ContractiveMethod::analytic));
}

torch::Tensor higher_order_exact(const torch::Tensor& x, const torch::Tensor& h,
                                 const torch::Tensor& x_tilde, const torch::Tensor& h_tilde,
                                 const std::string& mode) {
  return higher_order_exact_on_graph(x, h, x_tilde, h_tilde, parse_argument(parse_jacobian_mode, mode));
}

}  // namespace carve::ops
