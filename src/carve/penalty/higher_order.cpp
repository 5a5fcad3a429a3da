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
  // All draws first: the Jacobians use no random numbers, so the stream is the same as drawing
  // each corruption just before its Jacobian.
  std::vector<torch::Tensor> corrupted;
  for (int64_t c = 0; c < options.corruptions(); ++c) {
    corrupted.push_back(x + options.sigma() * torch::randn_like(x));
  }
  return higher_order_penalty_at(encoder, x, corrupted, options, pass);
}

torch::Tensor higher_order_penalty_at(Encoder& encoder, const torch::Tensor& x,
                                      const std::vector<torch::Tensor>& corrupted,
                                      const HigherOrderOptions& options, const EncoderPass* pass) {
  TORCH_CHECK_VALUE(!corrupted.empty(), "the higher-order penalty needs at least one corruption");
  const auto count = static_cast<int64_t>(corrupted.size());
  torch::Tensor total = torch::zeros({}, x.options());

  if (options.method() == ContractiveMethod::exact) {
    const auto jacobian = [&](const torch::Tensor& v) {
      return exact_jacobian(encoder, v,
                            ExactJacobianOptions()
                                .mode(options.mode())
                                .chunk_bytes(options.chunk_bytes())
                                .create_graph(torch::GradMode::is_enabled()));
    };
    const auto j0 = jacobian(x);
    for (const auto& xc : corrupted) {
      total = total + (j0 - jacobian(xc)).pow(2).sum({1, 2}).mean();
    }
    return total / static_cast<double>(count);
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
    for (const auto& xc : corrupted) {
      const auto d1 = derivative_from_output(layers[0].activation, encoder.code(xc));
      total = total + torch::mv((d0 - d1).pow(2), row_norms).mean();
    }
  } else {
    const auto j0 = analytic_jacobian(layers, outputs0);
    for (const auto& xc : corrupted) {
      const auto j1 = analytic_jacobian(layers, encoder.encode_layers(xc));
      total = total + (j0 - j1).pow(2).sum({1, 2}).mean();
    }
  }
  return total / static_cast<double>(count);
}

torch::Tensor higher_order_exact_on_graph(const torch::Tensor& x, const torch::Tensor& h,
                                          const torch::Tensor& x_tilde, const torch::Tensor& h_tilde,
                                          JacobianMode mode) {
  check_graph_pair(x, h);
  check_graph_pair(x_tilde, h_tilde);
  TORCH_CHECK_VALUE(x_tilde.dim() == x.dim() && x.size(0) > 0 &&
                        x_tilde.size(0) % x.size(0) == 0 &&
                        x_tilde.sizes().slice(1) == x.sizes().slice(1),
                    "x_tilde must stack corrupted copies of the batch x ", x.sizes(),
                    " (C * B rows of the same shape), got ", x_tilde.sizes());
  const int64_t batch = x.size(0), copies = x_tilde.size(0) / batch;
  const bool create_graph = torch::GradMode::is_enabled();
  // Both Jacobians slice by slice in the same mode, so that slices pair up.
  const auto resolved = resolve_graph_jacobian_mode(mode, create_graph, x.numel() / batch,
                                                    h.numel() / std::max<int64_t>(h.size(0), 1));
  std::vector<torch::Tensor> clean;
  for_each_graph_jacobian_slice(x, h, resolved, create_graph,
                                [&](int64_t, const torch::Tensor& s) { clean.push_back(s); });
  auto total = torch::zeros({}, h.options());
  for_each_graph_jacobian_slice(x_tilde, h_tilde, resolved, create_graph,
                                [&](int64_t k, const torch::Tensor& s) {
    TORCH_CHECK_VALUE(k < static_cast<int64_t>(clean.size()) &&
                          s.size(1) == clean[k].size(1),
                      "h_tilde must have the shape of h per example");
    total = total + (s.view({copies, batch, -1}) - clean[k].unsqueeze(0)).pow(2).sum();
  });
  return total / static_cast<double>(copies * batch);
}

}  // namespace carve
