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
  torch::jit::Module m("carve_encoder");
  torch::NoGradGuard no_grad;
  m.register_parameter("weight", layer.weight.detach().to(torch::kCPU).clone(), false);
  m.register_parameter("bias", layer.bias.detach().to(torch::kCPU).clone(), false);
  m.register_attribute("model_type", c10::StringType::get(), model_type);
  m.register_attribute("activation", c10::StringType::get(), to_string(layer.activation));
  m.register_attribute("inputs", c10::IntType::get(), layer.weight.size(1));
  m.register_attribute("hidden", c10::IntType::get(), layer.weight.size(0));
  m.register_attribute("carve_version", c10::StringType::get(), std::string(version()));
  m.define(fmt::format(R"(
def forward(self, x):
    a = torch.matmul(x, self.weight.t()) + self.bias
    return {}
)", activation_source(layer.activation)));
  m.eval();
  return m;
}

void save_encoder(const AffineLayer& layer, const std::string& model_type, const std::string& path) {
  const std::string tmp = path + ".tmp";
  export_encoder(layer, model_type).save(tmp);
  std::filesystem::rename(tmp, path);
}

void save_encoder(const AutoEncoderImpl& ae, const std::string& model_type, const std::string& path) {
  save_encoder(AffineLayer{ae.weight, ae.bias, ae.options.activation()}, model_type, path);
}

}  // namespace carve
