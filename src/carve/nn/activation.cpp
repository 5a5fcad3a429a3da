#include "carve/nn/activation.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "carve/error.h"

namespace carve {

const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> names{"sigmoid", "tanh", "softplus", "relu", "linear"};
  return names;
}

Activation parse_activation(const std::string& name) {
  const auto& names = activation_names();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<Activation>(i);
  }
  throw UsageError(
      fmt::format("unknown activation '{}' (known: {})", name, fmt::join(names, ", ")));
}

std::string to_string(Activation activation) {
  return activation_names().at(static_cast<size_t>(activation));
}

torch::Tensor activate(Activation activation, const torch::Tensor& a) {
  switch (activation) {
    case Activation::sigmoid: return torch::sigmoid(a);
    case Activation::tanh: return torch::tanh(a);
    case Activation::softplus: return torch::softplus(a);
    case Activation::relu: return torch::relu(a);
    case Activation::linear: return a;
  }
  TORCH_CHECK(false, "unhandled activation");
}

torch::Tensor& activate_(Activation activation, torch::Tensor& a) {
  switch (activation) {
    case Activation::sigmoid: return a.sigmoid_();
    case Activation::tanh: return a.tanh_();
    case Activation::softplus: return at::softplus_out(a, a, 1, 20);  // torch::softplus's defaults
    case Activation::relu: return a.relu_();
    case Activation::linear: return a;
  }
  TORCH_CHECK(false, "unhandled activation");
}

torch::Tensor derivative_from_output(Activation activation, const torch::Tensor& h) {
  switch (activation) {
    case Activation::sigmoid: return h * (1 - h);
    case Activation::tanh: return 1 - h * h;
    // softplus: e^h = 1 + e^a, so sigmoid(a) = 1 - e^-h; expm1 keeps precision for small h.
    case Activation::softplus: return -torch::expm1(-h);
    case Activation::relu: return (h > 0).to(h.dtype());
    case Activation::linear: return torch::ones_like(h);
  }
  TORCH_CHECK(false, "unhandled activation");
}

}  // namespace carve
