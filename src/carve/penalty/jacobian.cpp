#include "carve/penalty/jacobian.h"

#include <fmt/format.h>

#include "carve/device.h"
#include "carve/error.h"

namespace carve {

JacobianMode parse_jacobian_mode(const std::string& name) {
  if (name == "auto") return JacobianMode::automatic;
  if (name == "forward") return JacobianMode::forward;
  if (name == "reverse") return JacobianMode::reverse;
  if (name == "factored") return JacobianMode::factored;
  throw UsageError(
      fmt::format("unknown Jacobian mode '{}' (known: auto, forward, reverse, factored)", name));
}

std::string to_string(JacobianMode mode) {
  switch (mode) {
    case JacobianMode::automatic: return "auto";
    case JacobianMode::forward: return "forward";
    case JacobianMode::reverse: return "reverse";
    case JacobianMode::factored: return "factored";
  }
  return "?";
}

torch::Tensor analytic_jacobian(const std::vector<AffineLayer>& layers,
                                const std::vector<torch::Tensor>& outputs) {
  TORCH_CHECK(!layers.empty() && layers.size() == outputs.size(),
              "analytic_jacobian: need one output per layer, got ", outputs.size(), " for ",
              layers.size(), " layers");
  torch::Tensor jac;  // [B, h_l, in]
  for (size_t l = 0; l < layers.size(); ++l) {
    const auto d = derivative_from_output(layers[l].activation, outputs[l]).unsqueeze(-1);
    // W_l @ J_{l-1} broadcasts [h_l, h_{l-1}] over the batch of [h_{l-1}, in].
    jac = l == 0 ? d * layers[l].weight.unsqueeze(0) : d * torch::matmul(layers[l].weight, jac);
  }
  return jac;
}

namespace {

void reject_factored_without_layers(JacobianMode mode) {
  if (mode == JacobianMode::factored) {
    throw UsageError(
        "Jacobian mode 'factored' needs an encoder of Linear + elementwise layers; this one is "
        "known only as a function (use auto, forward or reverse)");
  }
}

}  // namespace

JacobianMode resolve_jacobian_mode(const ExactJacobianOptions& options, int64_t inputs,
                                   int64_t outputs) {
  reject_factored_without_layers(options.mode());
  if (options.mode() != JacobianMode::automatic) return options.mode();
  if (options.create_graph() && !options.third_order_verified()) return JacobianMode::reverse;
  // Cost in B-row passes of the encoder, forming J and differentiating it once. Reverse mode
  // replicates the batch per output unit: forward, VJP and three products in the double
  // backward. Forward mode shares one forward pass: per input unit one JVP and one product in
  // the double backward.
  return 2 * inputs <= 5 * outputs ? JacobianMode::forward : JacobianMode::reverse;
}

JacobianMode resolve_jacobian_mode(const ExactJacobianOptions& options,
                                   const std::vector<AffineLayer>& layers, int64_t inputs,
                                   int64_t outputs) {
  if (layers.empty()) return resolve_jacobian_mode(options, inputs, outputs);
  if (options.mode() != JacobianMode::automatic) return options.mode();
  // Cost per example in multiply-adds. One B-row pass through the chain is its products plus
  // its elementwise work; an elementwise op is bound by memory, and one over an element costs
  // about a dozen multiply-adds of a product, ~3 such ops per layer and pass. Reverse mode
  // makes ~5 passes per output unit, forward mode ~2 per input unit, and factored mode the same
  // without the first layer's product (the tangent W_1 e_i is shared by the batch). Factored
  // is never dearer than forward; reverse wins for codes much narrower than the input.
  constexpr double kElementwise = 36;
  double products = 0, elementwise = 0, previous = static_cast<double>(inputs);
  for (const auto& layer : layers) {
    const auto width = static_cast<double>(layer.weight.size(0));
    products += previous * width;
    elementwise += width;
    previous = width;
  }
  const double first = static_cast<double>(inputs) * static_cast<double>(layers.front().weight.size(0));
  const double reverse = 5.0 * static_cast<double>(outputs) * (products + kElementwise * elementwise);
  const double factored =
      2.0 * static_cast<double>(inputs) * (products - first + kElementwise * elementwise);
  return factored <= reverse ? JacobianMode::factored : JacobianMode::reverse;
}

namespace {

// Directions per block so that one block's graph stays under the cap.
int64_t directions_per_block(int64_t cap, int64_t bytes_per_direction, int64_t directions) {
  return std::clamp<int64_t>(cap / std::max<int64_t>(bytes_per_direction, 1), 1, directions);
}

// Reverse mode: k copies of the batch, copy i carrying output unit first + i; one batched VJP
// with one-hot cotangents gives k rows of every example's J.
void reverse_blocks(const EncodeFn& encode, const torch::Tensor& x, int64_t outputs,
                    const ExactJacobianOptions& options,
                    const std::function<void(const JacobianBlock&)>& visit) {
  const int64_t batch = x.size(0), inputs = x.size(1);
  // The replicated graph keeps a few [B, inputs] and [B, outputs] tensors per copy.
  const int64_t per_block = directions_per_block(
      options.chunk_bytes(), 4 * batch * (inputs + outputs) * x.element_size(), outputs);
  for (int64_t first = 0; first < outputs; first += per_block) {
    const int64_t k = std::min(per_block, outputs - first);
    auto xr = x.unsqueeze(0).expand({k, batch, inputs}).reshape({k * batch, inputs});
    xr.requires_grad_(true);
    const auto hr = encode(xr);
    TORCH_CHECK(hr.dim() == 2 && hr.size(0) == k * batch && hr.size(1) == outputs,
                "exact Jacobian: encoder returned ", hr.sizes(), ", expected [", k * batch, ", ",
                outputs, "]");
    const auto one_hot = torch::eye(outputs, x.options())
                             .slice(0, first, first + k)
                             .unsqueeze(1)
                             .expand({k, batch, outputs})
                             .reshape({k * batch, outputs});
    // The double backward runs through hr's graph, so it must outlive this call.
    const auto rows = torch::autograd::grad({hr}, {xr}, {one_hot},
                                            /*retain_graph=*/options.create_graph(),
                                            /*create_graph=*/options.create_graph())[0];
    visit(JacobianBlock{rows.view({k, batch, inputs}), first, JacobianMode::reverse, false});
  }
}

// Forward mode through the double-VJP trick on one shared forward pass: g(u) = J^T u is linear
// in u, so the VJP of g against e_i (with respect to u) is the JVP J e_i, for every example
// at once. Each JVP costs one B-row product; the forward pass and f'(a) are shared by all.
void forward_blocks(const EncodeFn& encode, const torch::Tensor& x, int64_t outputs,
                    const ExactJacobianOptions& options,
                    const std::function<void(const JacobianBlock&)>& visit) {
  const int64_t batch = x.size(0), inputs = x.size(1);
  auto leaf = x.clone().requires_grad_(true);
  const auto h = encode(leaf);
  TORCH_CHECK(h.dim() == 2 && h.size(0) == batch && h.size(1) == outputs,
              "exact Jacobian: encoder returned ", h.sizes(), ", expected [", batch, ", ",
              outputs, "]");
  auto u = torch::zeros({batch, outputs}, x.options()).requires_grad_(true);
  const auto g = torch::autograd::grad({h}, {leaf}, {u}, /*retain_graph=*/true,
                                       /*create_graph=*/true)[0];
  // Each column's graph keeps its [B, outputs] result and the product's saved input.
  const int64_t per_block = directions_per_block(
      options.chunk_bytes(), 3 * batch * outputs * x.element_size(), inputs);
  const auto eye = torch::eye(inputs, x.options());
  for (int64_t first = 0; first < inputs; first += per_block) {
    const int64_t k = std::min(per_block, inputs - first);
    std::vector<torch::Tensor> columns;
    columns.reserve(k);
    for (int64_t i = first; i < first + k; ++i) {
      const auto direction = eye[i].expand({batch, inputs});
      // g's graph serves every direction and, with create_graph, every block's backward.
      columns.push_back(torch::autograd::grad({g}, {u}, {direction}, /*retain_graph=*/true,
                                              /*create_graph=*/options.create_graph())[0]);
    }
    visit(JacobianBlock{torch::stack(columns), first, JacobianMode::forward, true});
  }
}

// On the CPU a factored block is also kept to about this much per [k, B, width] tensor: its
// work is elementwise, bound by memory, and blocks that stay in the last-level cache ran ~2.5x
// faster than blocks of the full cap (docs/RESULTS.md). A constant, so that block boundaries,
// and with them the last bits of the sums, are the same on every machine.
constexpr int64_t kFactoredCpuTensorBytes = int64_t(8) << 20;

// Factored forward mode (jacobian.h): J = J_rest(a) W_1 with a = x W_1^T + b_1. The tangent of
// a along e_i is W_1 e_i for every example, so each block replicates a (not x) k times, runs
// the rest of the chain on the copies, and forms k columns of J_rest's JVP with one VJP of the
// VJP (the trick of forward_blocks) whose cotangent carries the k tangents.
void factored_blocks(const std::vector<AffineLayer>& layers, const torch::Tensor& x,
                     const ExactJacobianOptions& options,
                     const std::function<void(const JacobianBlock&)>& visit) {
  const int64_t batch = x.size(0), inputs = x.size(1);
  const auto& first_layer = layers.front();
  TORCH_CHECK(first_layer.weight.dim() == 2 && first_layer.weight.size(1) == inputs,
              "exact Jacobian: the first layer takes ", first_layer.weight.size(1),
              " inputs, the batch has ", inputs);
  const int64_t width = first_layer.weight.size(0);
  const int64_t outputs = layers.back().weight.size(0);
  int64_t widths = 0, widest = 0;
  for (const auto& layer : layers) {
    widths += layer.weight.size(0);
    widest = std::max(widest, layer.weight.size(0));
  }
  auto a = torch::nn::functional::linear(x, first_layer.weight, first_layer.bias);
  // Frozen parameters (requires_grad off): J is still formed by autograd, from a as a leaf.
  if (!a.requires_grad()) a = a.detach().requires_grad_(true);
  // Each direction's graph keeps a few [B, width] tensors per layer: the rest's forward, its
  // VJP g and the JVP, and what their double backward saves.
  int64_t per_block = directions_per_block(options.chunk_bytes(),
                                           6 * batch * widths * x.element_size(), inputs);
  if (x.device().is_cpu()) {
    per_block = std::min(per_block, directions_per_block(kFactoredCpuTensorBytes,
                                                         batch * widest * x.element_size(), inputs));
  }
  for (int64_t first = 0; first < inputs; first += per_block) {
    const int64_t k = std::min(per_block, inputs - first);
    // The first layer's JVP along e_i, e_i W_1^T, is W_1's column i: k columns, differentiable
    // with respect to W_1, shared by every example.
    const auto tangents = first_layer.weight.slice(1, first, first + k).t();  // [k, width]
    const auto copies = a.unsqueeze(0).expand({k, batch, width});
    auto h = activate(first_layer.activation, copies);
    for (size_t l = 1; l < layers.size(); ++l) {
      h = activate(layers[l].activation,
                   torch::nn::functional::linear(h, layers[l].weight, layers[l].bias));
    }
    auto u = torch::zeros({k, batch, outputs}, x.options()).requires_grad_(true);
    const auto g = torch::autograd::grad({h}, {copies}, {u}, /*retain_graph=*/true,
                                         /*create_graph=*/true)[0];
    // g's graph is this block's alone; a's (the first layer's) is shared by every block.
    const auto columns = torch::autograd::grad(
        {g}, {u}, {tangents.unsqueeze(1).expand({k, batch, width})},
        /*retain_graph=*/options.create_graph(), /*create_graph=*/options.create_graph())[0];
    visit(JacobianBlock{columns, first, JacobianMode::factored, true});
  }
}

}  // namespace

int64_t block_cap(int64_t chunk_bytes, const torch::Device& device) {
  if (device.is_cpu()) return chunk_bytes;
  const auto free = available_memory(device).bytes;
  return free > 0 ? std::max<int64_t>(1, std::min(chunk_bytes, free / 4)) : chunk_bytes;
}

namespace {

using BlockVisitor = std::function<void(const JacobianBlock&)>;

void check_batch(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 2, "exact Jacobian: expected a batch [B, inputs], got ", x.sizes());
}

// The blocks of J in a mode already resolved (never automatic); `layers` (encode's, as
// Linear + elementwise layers) are read by factored mode alone.
void blocks_in_mode(JacobianMode mode, const EncodeFn& encode, const std::vector<AffineLayer>& layers,
                    const torch::Tensor& x, int64_t outputs, const ExactJacobianOptions& options,
                    const BlockVisitor& visit) {
  torch::AutoGradMode enable_grad(true);  // J is formed by autograd even under NoGradGuard.
  const auto base = x.detach();
  const auto capped = ExactJacobianOptions(options).chunk_bytes(block_cap(options.chunk_bytes(), x.device()));
  if (mode == JacobianMode::reverse) {
    reverse_blocks(encode, base, outputs, capped, visit);
  } else if (mode == JacobianMode::factored) {
    factored_blocks(layers, base, capped, visit);
  } else {
    forward_blocks(encode, base, outputs, capped, visit);
  }
}

// [B, out, in] from the blocks that for_each visits.
torch::Tensor assemble(const std::function<void(const BlockVisitor&)>& for_each) {
  std::vector<torch::Tensor> blocks;
  JacobianMode mode = JacobianMode::reverse;
  for_each([&](const JacobianBlock& b) {
    blocks.push_back(b.block);
    mode = b.mode;
  });
  const auto stacked = torch::cat(blocks, 0);
  // reverse: [out, B, in] -> [B, out, in]; forward, factored: [in, B, out] -> [B, out, in].
  return mode == JacobianMode::reverse ? stacked.permute({1, 0, 2}) : stacked.permute({1, 2, 0});
}

}  // namespace

void for_each_jacobian_block(const EncodeFn& encode, const torch::Tensor& x, int64_t outputs,
                             const ExactJacobianOptions& options, const BlockVisitor& visit) {
  check_batch(x);
  blocks_in_mode(resolve_jacobian_mode(options, x.size(1), outputs), encode, {}, x, outputs, options, visit);
}

void for_each_jacobian_block(Encoder& encoder, const torch::Tensor& x, const ExactJacobianOptions& options,
                             const BlockVisitor& visit) {
  check_batch(x);
  const auto layers = encoder.affine_layers();
  const int64_t outputs = encoder.code_size();
  // Without layers this resolves as for a function, factored refused.
  const auto mode = resolve_jacobian_mode(options, layers, x.size(1), outputs);
  blocks_in_mode(mode, [&](const torch::Tensor& v) { return encoder.code(v); }, layers, x, outputs, options,
                 visit);
}

torch::Tensor exact_jacobian(const EncodeFn& encode, const torch::Tensor& x, int64_t outputs,
                             const ExactJacobianOptions& options) {
  return assemble([&](const BlockVisitor& visit) { for_each_jacobian_block(encode, x, outputs, options, visit); });
}

torch::Tensor exact_jacobian(Encoder& encoder, const torch::Tensor& x, const ExactJacobianOptions& options) {
  return assemble([&](const BlockVisitor& visit) { for_each_jacobian_block(encoder, x, options, visit); });
}

JacobianMode resolve_graph_jacobian_mode(JacobianMode mode, bool create_graph, int64_t inputs,
                                         int64_t outputs) {
  TORCH_CHECK_VALUE(mode != JacobianMode::factored,
                    "Jacobian mode 'factored' needs the encoder's layers, not a graph (use auto, "
                    "forward or reverse)");
  if (mode != JacobianMode::automatic) return mode;
  if (create_graph) return JacobianMode::reverse;
  return inputs + 1 < outputs ? JacobianMode::forward : JacobianMode::reverse;
}

void check_graph_pair(const torch::Tensor& x, const torch::Tensor& h) {
  TORCH_CHECK_VALUE(x.defined() && x.requires_grad(),
                    "x must require grad and h be computed from it "
                    "(x = x.detach().requires_grad_(); h = encoder(x))");
  TORCH_CHECK_VALUE(h.defined() && h.requires_grad(),
                    "h does not depend on x through autograd (was it computed under "
                    "torch.no_grad(), or detached?)");
  TORCH_CHECK_VALUE(x.dim() >= 1 && h.dim() >= 1 && x.size(0) == h.size(0),
                    "x and h must be batches of the same size, got x ", x.sizes(), " and h ",
                    h.sizes());
}

void for_each_graph_jacobian_slice(const torch::Tensor& x, const torch::Tensor& h, JacobianMode mode,
                                   bool create_graph,
                                   const std::function<void(int64_t, const torch::Tensor&)>& visit) {
  check_graph_pair(x, h);
  const int64_t batch = x.size(0);
  const int64_t inputs = batch == 0 ? 0 : x.numel() / batch;
  const int64_t outputs = batch == 0 ? 0 : h.numel() / batch;
  torch::AutoGradMode enable_grad(true);  // the VJPs need autograd even for a value alone
  const auto flat = [&](const torch::Tensor& t) { return t.reshape({batch, -1}); };
  if (resolve_graph_jacobian_mode(mode, create_graph, inputs, outputs) == JacobianMode::reverse) {
    for (int64_t j = 0; j < outputs; ++j) {
      // A fresh one-hot per unit: the differentiable VJP may keep it for the double backward.
      auto cotangent = torch::zeros({batch, outputs}, h.options());
      cotangent.select(1, j).fill_(1);
      const auto row = torch::autograd::grad({h}, {x}, {cotangent.view(h.sizes())},
                                             /*retain_graph=*/true, create_graph,
                                             /*allow_unused=*/true)[0];
      visit(j, row.defined() ? flat(row) : torch::zeros({batch, inputs}, x.options()));
    }
    return;
  }
  // g(u) = J^T u is linear in u: its VJP against e_i is J e_i, every example at once.
  const auto u = torch::zeros_like(h).requires_grad_(true);
  const auto g = torch::autograd::grad({h}, {x}, {u}, /*retain_graph=*/true,
                                       /*create_graph=*/true, /*allow_unused=*/true)[0];
  for (int64_t i = 0; i < inputs; ++i) {
    torch::Tensor column;
    if (g.defined() && g.requires_grad()) {
      auto direction = torch::zeros({batch, inputs}, x.options());
      direction.select(1, i).fill_(1);
      column = torch::autograd::grad({g}, {u}, {direction.view(x.sizes())}, /*retain_graph=*/true,
                                     create_graph, /*allow_unused=*/true)[0];
    }
    visit(i, column.defined() ? flat(column) : torch::zeros({batch, outputs}, h.options()));
  }
}

}  // namespace carve
