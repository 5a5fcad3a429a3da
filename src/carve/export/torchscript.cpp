#include "carve/export/torchscript.h"

#include <fmt/format.h>

#include <filesystem>

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

}  // namespace

torch::jit::Module export_encoder(const AutoEncoderImpl& ae, const std::string& model_type) {
  return export_encoder(AffineLayer{ae.weight, ae.bias, ae.options.activation()}, model_type);
}

torch::jit::Module export_encoder(const AffineLayer& layer, const std::string& model_type) {
  return export_encoder(std::vector<AffineLayer>{layer}, model_type);
}

torch::jit::Module export_encoder(const std::vector<AffineLayer>& layers, const std::string& model_type) {
  TORCH_CHECK(!layers.empty(), "export_encoder: no layers");
  torch::jit::Module m("carve_encoder");
  torch::NoGradGuard no_grad;
  // One layer keeps the names weight / bias; a chain numbers them weight_0, bias_0, ...
  const bool single = layers.size() == 1;
  std::string body = "def forward(self, x):\n    a = x\n";
  for (size_t l = 0; l < layers.size(); ++l) {
    const std::string w = single ? "weight" : fmt::format("weight_{}", l), b = single ? "bias" : fmt::format("bias_{}", l);
    m.register_parameter(w, layers[l].weight.detach().to(torch::kCPU).clone(), false);
    m.register_parameter(b, layers[l].bias.detach().to(torch::kCPU).clone(), false);
    body += fmt::format("    a = torch.matmul(a, self.{}.t()) + self.{}\n    a = {}\n", w, b,
                        activation_source(layers[l].activation));
  }
  body += "    return a\n";
  m.register_attribute("model_type", c10::StringType::get(), model_type);
  m.register_attribute("activation", c10::StringType::get(), to_string(layers.back().activation));
  m.register_attribute("inputs", c10::IntType::get(), layers.front().weight.size(1));
  m.register_attribute("hidden", c10::IntType::get(), layers.back().weight.size(0));
  m.register_attribute("layers", c10::IntType::get(), static_cast<int64_t>(layers.size()));
  m.register_attribute("carve_version", c10::StringType::get(), std::string(version()));
  m.define(body);
  m.eval();
  return m;
}

void save_encoder(const std::vector<AffineLayer>& layers, const std::string& model_type, const std::string& path) {
  const std::string tmp = path + ".tmp";
  export_encoder(layers, model_type).save(tmp);
  std::filesystem::rename(tmp, path);
}

void save_encoder(const AffineLayer& layer, const std::string& model_type, const std::string& path) {
  save_encoder(std::vector<AffineLayer>{layer}, model_type, path);
}

void save_encoder(const AutoEncoderImpl& ae, const std::string& model_type, const std::string& path) {
  save_encoder(AffineLayer{ae.weight, ae.bias, ae.options.activation()}, model_type, path);
}

}  // namespace carve
