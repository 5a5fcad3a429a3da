#include "carve/device.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "carve/error.h"
#include "carve/process.h"

namespace carve {
namespace {

int64_t read_number(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return -1;
  try {
    return std::stoll(text);
  } catch (const std::exception&) {
    return -1;
  }
}

// A field of a cgroup's memory.stat ("file 123"), or 0.
int64_t stat_field(const std::string& path, const std::string& field) {
  std::ifstream in(path);
  std::string name;
  int64_t value = 0;
  while (in >> name >> value) {
    if (name == field) return value;
  }
  return 0;
}

// What the memory cgroup of this process still allows: its limit less what it uses, not counting
// the page cache (reclaimable: counting it would refuse runs on a machine that has read many
// files). cgroup v2 (memory.max, memory.current, memory.stat's `file`) or v1
// (memory.limit_in_bytes, memory.usage_in_bytes, memory.stat's `total_cache`); -1 without a limit.
int64_t cgroup_headroom() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    const bool v2 = line.rfind("0::", 0) == 0;
    const auto memory = line.find(":memory:");
    if (!v2 && memory == std::string::npos) continue;
    const std::string root = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
    const std::string path = v2 ? line.substr(3) : line.substr(memory + 8);
    // Inside a container the path may not exist below the mounted root: then the root is ours.
    for (const std::string& dir : {root + path, root}) {
      const int64_t limit = read_number(dir + (v2 ? "/memory.max" : "/memory.limit_in_bytes"));
      const int64_t used = read_number(dir + (v2 ? "/memory.current" : "/memory.usage_in_bytes"));
      if (used < 0) continue;
      if (limit < 0 || limit >= (int64_t(1) << 62)) break;  // no limit ("max", or v1's huge number)
      const int64_t cache = stat_field(dir + "/memory.stat", v2 ? "file" : "total_cache");
      return std::max<int64_t>(limit - std::max<int64_t>(used - cache, 0), 0);
    }
  }
  return -1;
}

// RLIMIT_AS less the address space in use (VmSize), or -1 without a limit.
int64_t address_space_headroom() {
  rlimit limit{};
  if (getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return -1;
  const int64_t used = std::max<int64_t>(proc_kib("/proc/self/status", "VmSize"), 0) * 1024;
  return std::max<int64_t>(static_cast<int64_t>(limit.rlim_cur) - used, 0);
}

// cudaMemGetInfo of the CUDA runtime LibTorch loaded, looked up at run time: -1 without one.
int64_t cuda_free_memory(const torch::Device& device) {
  using GetDevice = int (*)(int*);
  using SetDevice = int (*)(int);
  using MemGetInfo = int (*)(size_t*, size_t*);
  const auto get = reinterpret_cast<GetDevice>(dlsym(RTLD_DEFAULT, "cudaGetDevice"));
  const auto set = reinterpret_cast<SetDevice>(dlsym(RTLD_DEFAULT, "cudaSetDevice"));
  const auto info = reinterpret_cast<MemGetInfo>(dlsym(RTLD_DEFAULT, "cudaMemGetInfo"));
  if (!get || !set || !info) return -1;
  int previous = 0;
  if (get(&previous) != 0) return -1;
  const int wanted = device.has_index() ? device.index() : previous;
  if (wanted != previous && set(wanted) != 0) return -1;
  size_t free = 0, total = 0;
  const bool ok = info(&free, &total) == 0;
  if (wanted != previous) set(previous);
  return ok ? static_cast<int64_t>(free) : -1;
}

}  // namespace

AvailableMemory available_memory(const torch::Device& device) {
  if (const char* forced = std::getenv("CARVE_TEST_AVAILABLE_MEMORY")) {
    return {std::atoll(forced), "CARVE_TEST_AVAILABLE_MEMORY"};
  }
  if (device.is_cuda()) return {cuda_free_memory(device), "cudaMemGetInfo"};
  if (!device.is_cpu()) return {};
  const int64_t mem_available = proc_kib("/proc/meminfo", "MemAvailable");
  AvailableMemory best{mem_available < 0 ? -1 : mem_available * 1024, "MemAvailable"};
  const auto consider = [&](int64_t bytes, const char* source) {
    if (bytes >= 0 && (best.bytes < 0 || bytes < best.bytes)) best = {bytes, source};
  };
  consider(cgroup_headroom(), "the memory cgroup's limit");
  consider(address_space_headroom(), "RLIMIT_AS");
  return best;
}


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
