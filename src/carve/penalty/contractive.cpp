#include "carve/penalty/contractive.h"

#include <fmt/format.h>

#include "carve/error.h"

namespace carve {

ContractiveMethod parse_contractive_method(const std::string& name) {
  if (name == "analytic") return ContractiveMethod::analytic;
  if (name == "exact") return ContractiveMethod::exact;
  if (name == "stochastic") return ContractiveMethod::stochastic;
  throw UsageError(fmt::format(
      "unknown contractive method '{}' (known: analytic, exact, stochastic)", name));
}

std::string to_string(ContractiveMethod method) {
  switch (method) {
    case ContractiveMethod::analytic: return "analytic";
    case ContractiveMethod::exact: return "exact";
    case ContractiveMethod::stochastic: return "stochastic";
  }
  return "?";
}

Projection parse_projection(const std::string& name) {
  if (name == "gaussian") return Projection::gaussian;
  if (name == "rademacher") return Projection::rademacher;
  throw UsageError(
      fmt::format("unknown projection '{}' (known: gaussian, rademacher)", name));
}

std::string to_string(Projection projection) {
  return projection == Projection::gaussian ? "gaussian" : "rademacher";
}

EncoderPass EncoderPass::of(Encoder& encoder, const torch::Tensor& x, bool input_grad) {
  EncoderPass pass;
  pass.input = input_grad ? x.detach().requires_grad_(true) : x;
  pass.outputs = encoder.encode_layers(pass.input);
  return pass;
}

torch::Tensor random_projection(Projection projection, at::IntArrayRef sizes,
                                const torch::TensorOptions& options) {
  if (projection == Projection::gaussian) return torch::randn(sizes, options);
  return torch::randint(0, 2, sizes, options) * 2 - 1;
}

namespace {

// mean_b sum_j d_bj^2 ||W_j||^2 with a hand-written backward: autograd through W.pow(2).sum(1)
// makes several passes over the weight-sized matrix (pow, its backward's two products, the
// sum's expansion); here the forward reads W once and the backward writes dW = W * c in one
// product, which is what keeps the penalty cheap beside a training step.
struct SingleLayerPenalty : public torch::autograd::Function<SingleLayerPenalty> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& d,
                               const torch::Tensor& weight) {
    const auto row_norms = weight.norm(2, {1}).square();  // [H], ||W_j||^2
    const auto d2 = d * d;
    ctx->save_for_backward({d, weight, row_norms});
    return torch::mv(d2, row_norms).mean();
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_output) {
    const auto saved = ctx->get_saved_variables();
    const auto& d = saved[0];
    const auto& weight = saved[1];
    // Under create_graph (a double backward) the row norms must carry their graph to W; the
    // saved ones were computed in forward, outside autograd.
    const auto row_norms = torch::GradMode::is_enabled() ? weight.pow(2).sum(1) : saved[2];
    const auto scale = grad_output[0] * (2.0 / static_cast<double>(d.size(0)));
    // d/dd: 2 d_bj s_j / B;  d/dW_j: 2 (sum_b d_bj^2) W_j / B.
    const auto grad_d = d * row_norms * scale;
    const auto grad_w = weight * ((d * d).sum(0) * scale).unsqueeze(1);
    return {grad_d, grad_w};
  }
};

}  // namespace

torch::Tensor contractive_analytic(const std::vector<AffineLayer>& layers,
                                   const std::vector<torch::Tensor>& outputs) {
  if (layers.empty()) {
    TORCH_CHECK(false, 
        "the analytic contractive penalty needs an encoder made of Linear + elementwise layers; "
        "use method exact or stochastic");
  }
  if (layers.size() == 1) {
    // ||diag(f') W||_F^2 = sum_j f'_j^2 ||W_j||^2: never forms J.
    return SingleLayerPenalty::apply(derivative_from_output(layers[0].activation, outputs[0]),
                                     layers[0].weight);
  }
  return analytic_jacobian(layers, outputs).pow(2).sum({1, 2}).mean();
}

namespace {

struct ExactArgs {
  Encoder* encoder;
  torch::Tensor x;
  ExactJacobianOptions options;
  bool need_grad;
};

// Value and gradient of the exact penalty in one sweep over J's blocks. Each block's squared
// norm is differentiated by autograd (through the graph that formed the block) as soon as it
// is formed, then the block and its graph are freed: peak memory is one block, not all of J.
// backward() only scales the stored gradient.
struct ExactPenaltyFunction : public torch::autograd::Function<ExactPenaltyFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, at::TensorList params,
                               const ExactArgs* args) {
    const double batch = static_cast<double>(args->x.size(0));
    const std::vector<torch::Tensor> inputs(params.begin(), params.end());
    auto options = args->options;
    options.create_graph(args->need_grad);
    std::vector<torch::Tensor> grads;
    if (args->need_grad) {
      for (const auto& p : inputs) grads.push_back(torch::zeros_like(p));
    }
    auto total = torch::zeros({}, args->x.options());
    for_each_jacobian_block(
        *args->encoder, args->x, options, [&](const JacobianBlock& b) {
          const auto part = b.block.pow(2).sum() / batch;
          if (args->need_grad) {
            const auto g = torch::autograd::grad({part}, inputs, {}, b.shared_graph,
                                                 /*create_graph=*/false, /*allow_unused=*/true);
            for (size_t i = 0; i < g.size(); ++i) {
              if (g[i].defined()) grads[i].add_(g[i]);
            }
          }
          total += part.detach();
        });
    ctx->save_for_backward(grads);
    return total;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_output) {
    auto grads = ctx->get_saved_variables();
    torch::autograd::variable_list result;
    for (auto& g : grads) result.push_back(g * grad_output[0]);
    result.emplace_back();  // for args
    return result;
  }
};

}  // namespace

torch::Tensor contractive_exact(Encoder& encoder, const torch::Tensor& x,
                                const ExactJacobianOptions& options) {
  auto params = encoder.encoder_parameters();
  bool need_grad = false;
  if (torch::GradMode::is_enabled()) {
    for (const auto& p : params) need_grad = need_grad || p.requires_grad();
  }
  // A chain of Linear + elementwise layers resolves its mode by its own cost model
  // (for_each_jacobian_block on an Encoder); third_order_verified matters for other encoders.
  ExactArgs args{&encoder, x.detach(), options, need_grad};
  return ExactPenaltyFunction::apply(at::TensorList(params), &args);
}

PenaltyValue contractive_stochastic(const EncoderPass& pass, int64_t projections,
                                    Projection projection) {
  TORCH_CHECK(pass.input.requires_grad() && pass.code().requires_grad(),
              "stochastic contractive penalty: the pass must be made with input_grad and grad mode");
  TORCH_CHECK(projections >= 1, "stochastic contractive penalty: projections must be >= 1");
  const auto& h = pass.code();
  const bool create_graph = torch::GradMode::is_enabled();
  torch::AutoGradMode enable_grad(true);  // the VJPs need autograd even for a value alone
  // One VJP per projection on the shared forward graph; a loop over a handful of draws, not
  // over units. Each v^T J_b is the gradient of <v_b, h_b> with respect to x_b.
  std::vector<torch::Tensor> per_projection;  // batch means of ||v^T J_b||^2
  for (int64_t p = 0; p < projections; ++p) {
    const auto v = random_projection(projection, h.sizes(), h.options());
    const auto vjp = torch::autograd::grad({h}, {pass.input}, {v},
                                           /*retain_graph=*/true, create_graph)[0];
    per_projection.push_back(vjp.pow(2).reshape({vjp.size(0), -1}).sum(-1).mean());
  }
  const auto estimates = torch::stack(per_projection);
  PenaltyValue result{estimates.mean()};
  if (projections > 1) {
    result.standard_error =
        estimates.detach().std().item<double>() / std::sqrt(static_cast<double>(projections));
  }
  return result;
}

torch::Tensor contractive_exact_on_graph(const torch::Tensor& x, const torch::Tensor& h,
                                         JacobianMode mode) {
  const bool create_graph = torch::GradMode::is_enabled();
  auto total = torch::zeros({}, h.options());
  for_each_graph_jacobian_slice(x, h, mode, create_graph, [&](int64_t, const torch::Tensor& s) {
    total = total + s.pow(2).sum();
  });
  return total / static_cast<double>(std::max<int64_t>(x.size(0), 1));
}

ContractivePenalty::ContractivePenalty(ContractiveOptions options) : options_(options) {
  if (options_.projections() < 1) {
    TORCH_CHECK(false, fmt::format("projections must be at least 1, got {}", options_.projections()));
  }
  if (options_.chunk_bytes() < 1) {
    TORCH_CHECK(false, fmt::format("chunk_bytes must be positive, got {}", options_.chunk_bytes()));
  }
}

EncoderPass ContractivePenalty::make_pass(Encoder& encoder, const torch::Tensor& x) const {
  return EncoderPass::of(encoder, x,
                         /*input_grad=*/options_.method() == ContractiveMethod::stochastic);
}

PenaltyValue ContractivePenalty::stochastic_on_fresh_pass(Encoder& encoder,
                                                         const torch::Tensor& x) const {
  EncoderPass pass;
  {
    torch::AutoGradMode enable_grad(true);
    pass = make_pass(encoder, x);
  }
  return contractive_stochastic(pass, options_.projections(), options_.projection());
}

PenaltyValue ContractivePenalty::operator()(Encoder& encoder, const torch::Tensor& x) const {
  switch (options_.method()) {
    case ContractiveMethod::analytic: return (*this)(encoder, EncoderPass::of(encoder, x));
    case ContractiveMethod::exact: return exact(encoder, x);
    case ContractiveMethod::stochastic: return stochastic_on_fresh_pass(encoder, x);
  }
  TORCH_CHECK(false, "unhandled contractive method");
}

PenaltyValue ContractivePenalty::exact(Encoder& encoder, const torch::Tensor& x) const {
  return {contractive_exact(
      encoder, x, ExactJacobianOptions().mode(options_.mode()).chunk_bytes(options_.chunk_bytes()))};
}

PenaltyValue ContractivePenalty::operator()(Encoder& encoder, const EncoderPass& pass) const {
  switch (options_.method()) {
    case ContractiveMethod::analytic:
      return {contractive_analytic(encoder.affine_layers(), pass.outputs)};
    case ContractiveMethod::exact: return exact(encoder, pass.input);
    case ContractiveMethod::stochastic:
      // The shared pass serves only if it was made with input_grad under grad mode.
      if (!pass.input.requires_grad() || !pass.code().requires_grad()) {
        return stochastic_on_fresh_pass(encoder, pass.input);
      }
      return contractive_stochastic(pass, options_.projections(), options_.projection());
  }
  TORCH_CHECK(false, "unhandled contractive method");
}

}  // namespace carve
