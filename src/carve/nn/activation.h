// Elementwise activations of encoder and decoder layers.
//
// The contractive penalty's closed form needs f'(a) for every activation. Each derivative here
// is written as a function of the output h = f(a), so a penalty can reuse the activations that
// the forward pass already computed instead of recomputing the affine map:
//
//   auto h = carve::activate(carve::Activation::sigmoid, a);
//   auto d = carve::derivative_from_output(carve::Activation::sigmoid, h);  // == h * (1 - h)
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace carve {

/// The elementwise activations of carve's layers (names: activation_names()).
enum class Activation { sigmoid, tanh, softplus, relu, linear };

// "sigmoid" -> Activation::sigmoid; throws UsageError naming the value and the known names.
Activation parse_activation(const std::string& name);
std::string to_string(Activation activation);
const std::vector<std::string>& activation_names();

/// f(a).
torch::Tensor activate(Activation activation, const torch::Tensor& pre_activation);
/// f(a) written over a (no autograd: the fused step's buffers).
torch::Tensor& activate_(Activation activation, torch::Tensor& pre_activation);

// f'(a) expressed through h = f(a):
//   sigmoid  h (1 - h)        tanh    1 - h^2
//   softplus 1 - exp(-h)      relu    [h > 0]      linear  1
// Differentiable in h, so gradients through it equal those through f'(a) (chain rule via h).
torch::Tensor derivative_from_output(Activation activation, const torch::Tensor& output);

}  // namespace carve
