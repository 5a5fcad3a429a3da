// Device names as users write them: auto (CUDA when LibTorch has it, else CPU), cpu, cuda,
// cuda:N. Throws UsageError for anything else, or for CUDA that is not there.
//
//   torch::Device d = carve::resolve_device("auto");
#pragma once

#include <torch/torch.h>

#include <string>

namespace carve {

/// "auto", "cpu", "cuda" or "cuda:N" as a device (see the file comment).
torch::Device resolve_device(const std::string& name);

/// Memory this process can still allocate on `device`, in bytes, and where that bound comes from.
/// CPU: the least of MemAvailable (/proc/meminfo), the memory cgroup's limit less its use without
/// the page cache (SLURM jobs, containers; cgroup v2 or v1) and RLIMIT_AS less the address space
/// in use. CUDA: the free memory
/// cudaMemGetInfo reports, found at run time in the CUDA runtime that LibTorch loaded (so a
/// CPU-only build needs no CUDA headers). bytes = -1 where unknown. $CARVE_TEST_AVAILABLE_MEMORY
/// (bytes) replaces it, for tests.
///
///   auto free = carve::available_memory(torch::kCPU);   // {23.1e9, "MemAvailable"}
struct AvailableMemory {
  int64_t bytes = -1;
  std::string source;
};
AvailableMemory available_memory(const torch::Device& device);

/// "float32" or "float64"; an unknown name throws UsageError. dtype_name is the inverse.
torch::Dtype parse_dtype(const std::string& name);  // float32 | float64
std::string dtype_name(torch::Dtype dtype);

}  // namespace carve
