#include "carve/bench/measure.h"

#include "carve/process.h"

#include <fmt/format.h>
#include <torch/cuda.h>

#include <fstream>
#include <stdexcept>

namespace carve::bench {

double peak_mib(bool reset) {
  if (reset) {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    if (!clear.flush()) return -1;
  }
  const int64_t kib = proc_kib("/proc/self/status", "VmHWM");
  return kib < 0 ? -1 : static_cast<double>(kib) / 1024.0;
}

void synchronize(const c10::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.has_index() ? device.index() : -1);
}

nlohmann::json run_peer(const std::string& command) {
  const auto r = run_shell(command);
  if (r.status == -1) throw std::runtime_error("cannot start the peer: " + command);
  if (r.status != 0) throw std::runtime_error(fmt::format("the peer failed (status {}): {}", r.status, command));
  return nlohmann::json::parse(r.out);
}

nlohmann::json goal(const std::string& name, double measured, const std::string& comparison, double target) {
  const bool met = comparison == ">=" ? measured >= target : measured <= target;
  return {{"name", name}, {"measured", measured}, {"comparison", comparison}, {"target", target}, {"met", met}};
}

}  // namespace carve::bench
