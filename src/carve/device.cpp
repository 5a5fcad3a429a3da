#include "carve/device.h"

#include <fmt/format.h>

#include "carve/error.h"

namespace carve {

torch::Device resolve_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? torch::kCUDA : torch::kCPU;
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    int64_t index = -1;
    if (name.size() > 5) {
      const auto digits = name.substr(5);
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) {
        throw UsageError(fmt::format("bad device '{}' (expected auto, cpu, cuda or cuda:N)", name));
      }
      index = std::stoll(digits);
    }
    if (!torch::cuda::is_available()) {
      throw UsageError(fmt::format(
          "device '{}' requested but CUDA is not available (this LibTorch has {} CUDA devices)",
          name, torch::cuda::device_count()));
    }
    if (index >= static_cast<int64_t>(torch::cuda::device_count())) {
      throw UsageError(fmt::format("device '{}' requested but only {} CUDA devices exist", name,
                                   torch::cuda::device_count()));
    }
    return index < 0 ? torch::Device(torch::kCUDA)
                     : torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw UsageError(fmt::format("bad device '{}' (expected auto, cpu, cuda or cuda:N)", name));
}

torch::Dtype parse_dtype(const std::string& name) {
  if (name == "float32") return torch::kFloat32;
  if (name == "float64") return torch::kFloat64;
  throw UsageError(fmt::format("unknown dtype '{}' (known: float32, float64)", name));
}

std::string dtype_name(torch::Dtype dtype) {
  return dtype == torch::kFloat64 ? "float64" : "float32";
}

}  // namespace carve
