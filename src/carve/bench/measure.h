/// Timing helpers of the benchmarks.
///
///   double ms = carve::bench::median_ms([&] { step(); }, 20);
///   double gpu_ms = carve::bench::median_ms([&] { step(); }, 20, torch::Device("cuda"));
#pragma once

#include <c10/core/Device.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace carve::bench {

/// The median wall time of `repeats` calls of fn, after one warm-up call, in milliseconds.
template <typename F>
double median_ms(F&& fn, int64_t repeats) {
  fn();
  std::vector<double> times;
  for (int64_t r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

/// Waits until the work queued on `device` is done (nothing on the CPU): CUDA runs asynchronously,
/// so a timer read before this measures the launch, not the work.
void synchronize(const c10::Device& device);

/// median_ms of fn on `device`: each call is timed up to the end of the work it queued there.
template <typename F>
double median_ms(F&& fn, int64_t repeats, const c10::Device& device) {
  synchronize(device);
  return median_ms([&] {
    fn();
    synchronize(device);
  }, repeats);
}

/// One matrix product a computation requires: a [m, k] x [k, n] (either may be a transposed view),
/// `count` times a step.
struct Product {
  std::string name;
  torch::Tensor a, b;
  int64_t count = 1;
};

/// The roofline of a step: only the products its math requires, each timed alone with at::mm_out
/// into an output made once (no allocation), at the same shapes and threads, in this process;
/// measured twice around what it is compared with (`before`, then `after`), so that a run whose
/// products' own rate moved by more than 10% between the two is marked `discarded` (the machine's
/// speed changed under it). JSON: {"ms", "products": [{"name", "count", "ms"}], "rate_change",
/// "discarded"}.
class Roofline {
 public:
  Roofline(std::vector<Product> products, int64_t repeats, const c10::Device& device);
  void before() { first_ = times(); }
  void after() { second_ = times(); }
  /// Milliseconds a step (the mean of the two measurements, or the one taken).
  double ms() const;
  /// Whether the products' rate moved by more than 10% between the two measurements.
  bool discarded() const;
  nlohmann::json to_json() const;

 private:
  std::vector<double> times();
  double product_ms(size_t i) const;  // the mean of its two measurements, or the one taken
  double rate_change() const;
  std::vector<Product> products_;
  std::vector<torch::Tensor> outputs_;
  int64_t repeats_;
  c10::Device device_;
  std::vector<double> first_, second_;
};

/// The goal "NAME >= target" of a step's fraction of its roofline (Roofline::to_json), its name
/// saying when the run was discarded.
nlohmann::json roofline_goal(const std::string& name, double fraction, double target, const nlohmann::json& roofline);

/// Peak resident memory (VmHWM) of this process in MiB; `reset` first restarts the peak from the
/// current size (/proc/self/clear_refs, Linux >= 4.0). -1 if unknown.
double peak_mib(bool reset);

/// Runs a peer program and parses the one JSON object it prints; std::runtime_error if it fails.
nlohmann::json run_peer(const std::string& command);

/// {"name", "measured", "comparison", "target", "met"} for a result's "goals".
nlohmann::json goal(const std::string& name, double measured, const std::string& comparison, double target);

}  // namespace carve::bench
