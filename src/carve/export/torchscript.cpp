#include "carve/export/torchscript.h"

#include <fmt/format.h>

#include <sstream>

#include "carve/atomic_file.h"
#include "carve/version.h"

namespace carve {

namespace {

// TorchScript for the activation, with builtins only (the C++ compiler resolves no Python).
std::string activation_source(Activation activation) {
  switch (activation) {
    case Activation::sigmoid: return "torch.sigmoid(a)";
    case Activation::tanh: return "torch.tanh(a)";
    case Activation::softplus: return "torch.log1p(torch.exp(-torch.abs(a))) + torch.relu(a)";
    case Activation::relu: return "torch.relu(a)";
    case Activation::linear: return "a";
  }
  return "a";
}

// Registers the layers' parameters under `prefix` names and returns the method applying them.
// One encoder layer keeps the names weight / bias; otherwise they are numbered (weight_0, ...).
std::string chain_method(torch::jit::Module& m, const std::vector<AffineLayer>& layers, const std::string& prefix,
                         const std::string& method, const std::string& argument) {
  const bool single = layers.size() == 1 && prefix.empty();
  std::string body = fmt::format("def {}(self, {}):\n    a = {}\n", method, argument, argument);
  // An input may come in the dataset's own layout ([N, 1, 28, 28]) as well as in flat rows.
  if (argument == "x") body += "    if a.dim() > 2:\n        a = torch.flatten(a, 1)\n";
  for (size_t l = 0; l < layers.size(); ++l) {
    const std::string w = single ? "weight" : fmt::format("{}weight_{}", prefix, l);
    const std::string b = single ? "bias" : fmt::format("{}bias_{}", prefix, l);
    m.register_parameter(w, layers[l].weight.detach().to(torch::kCPU).clone(), false);
    m.register_parameter(b, layers[l].bias.detach().to(torch::kCPU).clone(), false);
    body += fmt::format("    a = torch.matmul(a, self.{}.t()) + self.{}\n    a = {}\n", w, b,
                        activation_source(layers[l].activation));
  }
  return body + "    return a\n";
}

void save_module(const torch::jit::Module& m, const std::string& path) {
  std::ostringstream bytes;
  m.save(bytes);
  write_file_atomically(path, bytes.str());
}

}  // namespace

AffineLayer decoder_layer(const AutoEncoderImpl& ae) {
  return {ae.decoder_matrix(), ae.visible_bias, ae.options.decoder_activation()};
}

torch::jit::Module export_encoder(const AutoEncoderImpl& ae, const std::string& model_type) {
  return export_encoder({AffineLayer{ae.weight, ae.bias, ae.options.activation()}}, model_type, {decoder_layer(ae)});
}

torch::jit::Module export_encoder(const std::vector<AffineLayer>& layers, const std::string& model_type,
                                  const std::vector<AffineLayer>& decoder) {
  TORCH_CHECK(!layers.empty(), "export_encoder: no layers");
  torch::jit::Module m("carve_encoder");
  torch::NoGradGuard no_grad;
  std::string source = chain_method(m, layers, "", "forward", "x");
  if (!decoder.empty()) {
    source += chain_method(m, decoder, "decoder_", "decode", "h");
    source += "def reconstruct(self, x):\n    return self.decode(self.forward(x))\n";
  }
  m.register_attribute("model_type", c10::StringType::get(), model_type);
  m.register_attribute("activation", c10::StringType::get(), to_string(layers.back().activation));
  m.register_attribute("inputs", c10::IntType::get(), layers.front().weight.size(1));
  m.register_attribute("hidden", c10::IntType::get(), layers.back().weight.size(0));
  m.register_attribute("layers", c10::IntType::get(), static_cast<int64_t>(layers.size()));
  // Each layer's activation, first layer first: with weight(_l)/bias(_l), what the analytic
  // penalty operators need (python/carve's affine_layers).
  c10::List<std::string> activations;
  for (const auto& layer : layers) activations.push_back(to_string(layer.activation));
  m.register_attribute("activations", c10::ListType::ofStrings(), activations);
  m.register_attribute("has_decoder", c10::BoolType::get(), !decoder.empty());
  m.register_attribute("carve_version", c10::StringType::get(), std::string(version()));
  m.define(source);
  m.eval();
  return m;
}

void save_encoder(const std::vector<AffineLayer>& layers, const std::string& model_type, const std::string& path,
                  const std::vector<AffineLayer>& decoder) {
  save_module(export_encoder(layers, model_type, decoder), path);
}

void save_encoder(const AutoEncoderImpl& ae, const std::string& model_type, const std::string& path) {
  save_module(export_encoder(ae, model_type), path);
}

torch::jit::Module export_classifier(const std::vector<AffineLayer>& hidden, const torch::Tensor& out_w,
                                     const torch::Tensor& out_b) {
  auto layers = hidden;
  layers.push_back({out_w, out_b, Activation::linear});
  torch::jit::Module m("carve_classifier");
  torch::NoGradGuard no_grad;
  std::string source = chain_method(m, layers, "layer_", "forward", "x");
  source += "def predict(self, x):\n    return torch.argmax(self.forward(x), 1)\n";
  m.register_attribute("model_type", c10::StringType::get(), std::string("classifier"));
  m.register_attribute("inputs", c10::IntType::get(), layers.front().weight.size(1));
  m.register_attribute("classes", c10::IntType::get(), out_w.size(0));
  m.register_attribute("layers", c10::IntType::get(), static_cast<int64_t>(layers.size()));
  m.register_attribute("carve_version", c10::StringType::get(), std::string(version()));
  m.define(source);
  m.eval();
  return m;
}

void save_classifier(const std::vector<AffineLayer>& hidden, const torch::Tensor& out_w, const torch::Tensor& out_b,
                     const std::string& path) {
  save_module(export_classifier(hidden, out_w, out_b), path);
}

}  // namespace carve
