#include "carve/bench/measure.h"

#include "carve/process.h"

#include <fmt/format.h>
#include <torch/cuda.h>

#include <fstream>
#include <stdexcept>

namespace carve::bench {

Roofline::Roofline(std::vector<Product> products, int64_t repeats, const c10::Device& device)
    : products_(std::move(products)), repeats_(repeats), device_(device) {
  for (const auto& p : products_) outputs_.push_back(torch::empty({p.a.size(0), p.b.size(1)}, p.a.options()));
}

std::vector<double> Roofline::times() const {
  std::vector<double> out;
  for (size_t i = 0; i < products_.size(); ++i) {
    auto& o = const_cast<torch::Tensor&>(outputs_[i]);
    out.push_back(median_ms([&] { at::mm_out(o, products_[i].a, products_[i].b); }, repeats_, device_));
  }
  return out;
}

double Roofline::ms() const {
  double total = 0;
  for (size_t i = 0; i < products_.size(); ++i) {
    const double t = second_.empty() ? first_.at(i) : (first_.at(i) + second_.at(i)) / 2;
    total += products_[i].count * t;
  }
  return total;
}

nlohmann::json Roofline::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  double change = 0;
  for (size_t i = 0; i < products_.size(); ++i) {
    const double t = second_.empty() ? first_.at(i) : (first_.at(i) + second_.at(i)) / 2;
    list.push_back({{"name", products_[i].name}, {"count", products_[i].count}, {"ms", t}});
    if (!second_.empty()) change = std::max(change, std::abs(first_[i] - second_[i]) / std::min(first_[i], second_[i]));
  }
  return {{"ms", ms()}, {"products", list}, {"rate_change", change}, {"discarded", change > 0.10}};
}

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
