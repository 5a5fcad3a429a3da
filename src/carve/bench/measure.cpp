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

std::vector<double> Roofline::times() {
  std::vector<double> out;
  for (size_t i = 0; i < products_.size(); ++i) {
    out.push_back(median_ms([&] { at::mm_out(outputs_[i], products_[i].a, products_[i].b); }, repeats_, device_));
  }
  return out;
}

double Roofline::product_ms(size_t i) const {
  return second_.empty() ? first_.at(i) : (first_.at(i) + second_.at(i)) / 2;
}

double Roofline::rate_change() const {
  double change = 0;
  for (size_t i = 0; i < second_.size(); ++i) {
    change = std::max(change, std::abs(first_.at(i) - second_[i]) / std::min(first_.at(i), second_[i]));
  }
  return change;
}

bool Roofline::discarded() const { return rate_change() > 0.10; }

double Roofline::ms() const {
  double total = 0;
  for (size_t i = 0; i < products_.size(); ++i) total += products_[i].count * product_ms(i);
  return total;
}

nlohmann::json Roofline::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (size_t i = 0; i < products_.size(); ++i) {
    list.push_back({{"name", products_[i].name}, {"count", products_[i].count}, {"ms", product_ms(i)}});
  }
  return {{"ms", ms()}, {"products", list}, {"rate_change", rate_change()}, {"discarded", discarded()}};
}

nlohmann::json roofline_goal(const std::string& name, double fraction, double target, const nlohmann::json& roofline) {
  const bool discarded = roofline.value("discarded", false);
  return goal(name + (discarded ? " (discarded: the products' rate moved > 10% within the run)" : ""), fraction, ">=",
              target);
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
