#include "carve/penalty/higher_order.h"

#include <fmt/format.h>


namespace carve {

torch::Tensor higher_order_penalty(Encoder& encoder, const torch::Tensor& x,
                                   const HigherOrderOptions& options, const EncoderPass* pass) {
  if (options.sigma() < 0) {
    TORCH_CHECK(false, fmt::format("higher-order sigma must be >= 0, got {}", options.sigma()));
  }
  if (options.corruptions() < 1) {
    TORCH_CHECK(false, 
        fmt::format("higher-order corruptions must be >= 1, got {}", options.corruptions()));
  }
  const auto corrupt = [&] { return x + options.sigma() * torch::randn_like(x); };
  torch::Tensor total = torch::zeros({}, x.options());

  if (options.method() == ContractiveMethod::exact) {
    const auto jacobian = [&](const torch::Tensor& v) {
      return exact_jacobian([&](const torch::Tensor& u) { return encoder.code(u); }, v,
                            encoder.code_size(),
                            ExactJacobianOptions()
                                .mode(options.mode())
                                .chunk_bytes(options.chunk_bytes())
                                .create_graph(torch::GradMode::is_enabled())
                                .third_order_verified(!encoder.affine_layers().empty()));
    };
    const auto j0 = jacobian(x);
    for (int64_t c = 0; c < options.corruptions(); ++c) {
      total = total + (j0 - jacobian(corrupt())).pow(2).sum({1, 2}).mean();
    }
    return total / static_cast<double>(options.corruptions());
  }
  if (options.method() != ContractiveMethod::analytic) {
    TORCH_CHECK(false, "the higher-order penalty needs Jacobians: method analytic or exact");
  }

  const auto layers = encoder.affine_layers();
  if (layers.empty()) {
    TORCH_CHECK(false, 
        "the analytic higher-order penalty needs Linear + elementwise layers; use method exact");
  }
  const auto outputs0 = pass ? pass->outputs : encoder.encode_layers(x);
  if (layers.size() == 1) {
    // ||(D0 - D1) W||_F^2 = sum_j (f'_j(x) - f'_j(x + eps))^2 ||W_j||^2.
    const auto d0 = derivative_from_output(layers[0].activation, outputs0[0]);
    const auto row_norms = layers[0].weight.pow(2).sum(1);
    for (int64_t c = 0; c < options.corruptions(); ++c) {
      const auto d1 = derivative_from_output(layers[0].activation, encoder.code(corrupt()));
      total = total + torch::mv((d0 - d1).pow(2), row_norms).mean();
    }
  } else {
    const auto j0 = analytic_jacobian(layers, outputs0);
    for (int64_t c = 0; c < options.corruptions(); ++c) {
      const auto j1 = analytic_jacobian(layers, encoder.encode_layers(corrupt()));
      total = total + (j0 - j1).pow(2).sum({1, 2}).mean();
    }
  }
  return total / static_cast<double>(options.corruptions());
}

}  // namespace carve
