// Per-example Jacobians J_f(x) of an encoder, formed two independent ways.
//
//   analytic_jacobian: the explicit product diag(f'_L) W_L ... diag(f'_1) W_1 of a chain of
//     Linear + elementwise layers; no autograd is used to form it.
//   exact_jacobian: autograd only, for any differentiable x -> code function, `chunk_bytes` of
//     graph at a time so memory stays bounded. Two modes:
//     reverse  batched vector-Jacobian products: k copies of the batch, one-hot cotangents,
//              one autograd call per block of k output units;
//     forward  Jacobian-vector products through the double-VJP trick on one shared forward
//              pass (g(u) = J^T u is linear in u, so d<g(u), e_i>/du = J e_i), one autograd
//              call per input unit, each a single B-row product.
//     factored for a chain of Linear + elementwise layers (Encoder::affine_layers()): with
//              a = x W_1^T + b_1 the chain is rest(a), so J = J_rest(a) W_1, and the JVP of the
//              first layer along e_i is W_1 e_i, the same for every example. Only the rest of
//              the chain is differentiated per example: forward mode (the same double-VJP
//              trick) on k copies of a, the k tangents W_1 e_i in one autograd call. For one
//              layer that is elementwise work on [k, B, H] and no product per direction.
//     Forming and differentiating J costs ~5 B-row passes per output unit in reverse mode and
//     ~2 per input unit in forward mode; factored saves forward mode's first product, the
//     B-row product with a one-hot direction; `automatic` picks the cheapest for the shape.
//
//   auto J  = carve::analytic_jacobian(ae->affine_layers(), ae->encode_layers(x));  // [B, H, D]
//   auto J2 = carve::exact_jacobian([&](const torch::Tensor& v) { return ae->encode(v); }, x,
//                                   ae->code_size());                       // forward or reverse
//   auto J3 = carve::exact_jacobian(*ae, x);      // also factored, which needs the layers
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "carve/nn/encoder.h"

namespace carve {

using EncodeFn = std::function<torch::Tensor(const torch::Tensor&)>;

/// How the exact Jacobian is formed (file comment); `automatic` picks by cost.
enum class JacobianMode { automatic, forward, reverse, factored };

/// "auto", "forward", "reverse", "factored"; an unknown name throws UsageError.
JacobianMode parse_jacobian_mode(const std::string& name);
std::string to_string(JacobianMode mode);

/// Options of exact_jacobian and of the exact penalty.
struct ExactJacobianOptions {
  TORCH_ARG(JacobianMode, mode) = JacobianMode::automatic;
  // Upper bound on the working memory of one block of replicas (the cap of the exact method).
  TORCH_ARG(int64_t, chunk_bytes) = int64_t(256) << 20;
  // Keep the graph so that functions of J can be differentiated (a true double backward).
  TORCH_ARG(bool, create_graph) = true;
  // Differentiating a forward-mode J takes third derivatives of the encoder's ops, and PyTorch
  // does not get every op's right: through LayerNorm, 1.13 returns gradients 70% off without an
  // error (tests/penalty/contractive_test.cpp). Set this only for encoders whose third
  // derivatives are verified (carve's Linear + elementwise chains are, against the closed form);
  // otherwise `automatic` differentiates J in reverse mode, which needs second derivatives only.
  TORCH_ARG(bool, third_order_verified) = false;
};

// [B, out, in] from the layers and their outputs for a batch (outputs[l] = h_l).
torch::Tensor analytic_jacobian(const std::vector<AffineLayer>& layers,
                                const std::vector<torch::Tensor>& outputs);

// The mode that `automatic` resolves to for an encoder of that shape known only as a function:
// forward when it needs fewer passes, unless J is to be differentiated and the encoder is not
// third_order_verified. Never factored (that needs the layers); asking for it is a UsageError.
JacobianMode resolve_jacobian_mode(const ExactJacobianOptions& options, int64_t inputs,
                                   int64_t outputs);

// The mode for a chain of Linear + elementwise layers (carve's activations, whose third
// derivatives the suite checks): the cheapest of forward, reverse and factored by the cost model
// in jacobian.cpp. An empty chain resolves as a function (above), factored excluded.
JacobianMode resolve_jacobian_mode(const ExactJacobianOptions& options,
                                   const std::vector<AffineLayer>& layers, int64_t inputs,
                                   int64_t outputs);

// One block of J: reverse mode gives rows, block[i] = J[:, first + i, :] ([k, B, in]);
// forward and factored modes give columns, block[i] = J[:, :, first + i] ([k, B, out]).
struct JacobianBlock {
  torch::Tensor block;
  int64_t first;
  JacobianMode mode;
  // The blocks share one forward graph: differentiate a block with retain_graph=true.
  bool shared_graph;
};

// The cap on one block's memory on `device`: chunk_bytes, and on a GPU at most a quarter of the
// memory free there (a card shared with other jobs may have little). On the CPU it stays
// chunk_bytes, so that block boundaries, and with them the last bits of the sums, never depend
// on how loaded the machine is.
int64_t block_cap(int64_t chunk_bytes, const torch::Device& device);

// Visits J block by block (the memory-capped building block of the exact penalty; the cap is
// block_cap(options.chunk_bytes(), x.device())).
void for_each_jacobian_block(const EncodeFn& encode, const torch::Tensor& x, int64_t outputs,
                             const ExactJacobianOptions& options,
                             const std::function<void(const JacobianBlock&)>& visit);

// The same for an Encoder: its layers, when it has them, make factored mode available (and
// `automatic` resolves by the chain's cost model); otherwise J is that of encoder.code.
void for_each_jacobian_block(Encoder& encoder, const torch::Tensor& x,
                             const ExactJacobianOptions& options,
                             const std::function<void(const JacobianBlock&)>& visit);

// [B, out, in], assembled from the blocks.
torch::Tensor exact_jacobian(const EncodeFn& encode, const torch::Tensor& x, int64_t outputs,
                             const ExactJacobianOptions& options = {});
torch::Tensor exact_jacobian(Encoder& encoder, const torch::Tensor& x,
                             const ExactJacobianOptions& options = {});

// J of a graph the caller has already formed: h = f(x) with x requiring grad, for any encoder
// (a Python nn.Module, a TorchScript module) of which only these two tensors are known. x is
// [B, ...] and h [B, ...]; examples are independent (no batch statistics), so J has one block
// per example, [B, out, in] with in and out the flattened sizes. Formed one slice at a time by
// vector-Jacobian products on that graph:
//   reverse  visit(j, J[:, j, :]) for each output unit j: one VJP each;
//   forward  visit(i, J[:, :, i]) for each input unit i: one VJP of the VJP g(u) = J^T u with
//            respect to u (the double-VJP trick), after one shared VJP.
// With create_graph every slice is differentiable with respect to x and to whatever h depends
// on (the caller's parameters); reverse mode then needs second derivatives of the caller's ops,
// forward mode third ones. The graph of h is kept (retain_graph) for the caller.
void for_each_graph_jacobian_slice(const torch::Tensor& x, const torch::Tensor& h, JacobianMode mode,
                                   bool create_graph,
                                   const std::function<void(int64_t, const torch::Tensor&)>& visit);

// Checks that x and h are such a pair (x requires grad, h was computed from it under grad mode,
// both batches of the same size); a ValueError in Python otherwise. for_each_graph_jacobian_slice
// makes it; so must anything else that runs autograd from h back to x.
void check_graph_pair(const torch::Tensor& x, const torch::Tensor& h);

// `automatic` for a graph of unknown ops: reverse when the slices are to be differentiated (no
// third derivative of an unverified op is taken), otherwise the mode with fewer VJPs.
JacobianMode resolve_graph_jacobian_mode(JacobianMode mode, bool create_graph, int64_t inputs,
                                         int64_t outputs);

}  // namespace carve
