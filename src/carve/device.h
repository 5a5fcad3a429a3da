// Device names as users write them: auto (CUDA when LibTorch has it, else CPU), cpu, cuda,
// cuda:N. Throws UsageError for anything else, or for CUDA that is not there.
//
//   torch::Device d = carve::resolve_device("auto");
#pragma once

#include <torch/torch.h>

#include <string>

namespace carve {

torch::Device resolve_device(const std::string& name);
torch::Dtype parse_dtype(const std::string& name);  // float32 | float64
std::string dtype_name(torch::Dtype dtype);

}  // namespace carve
