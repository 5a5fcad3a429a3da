#include "carve/train/memory.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <limits>

namespace carve {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// a * b * ..., saturating at kMax (the keys are validated positive, but may be huge).
int64_t product(std::initializer_list<int64_t> factors) {
  int64_t result = 1;
  for (int64_t f : factors) {
    if (f <= 0) return 0;
    if (result > kMax / f) return kMax;
    result *= f;
  }
  return result;
}

int64_t sum(int64_t a, int64_t b) { return a > kMax - b ? kMax : a + b; }

}  // namespace

int64_t MemoryEstimate::total() const {
  int64_t t = 0;
  for (const auto& i : items) t = sum(t, i.bytes);
  return t;
}

const MemoryItem& MemoryEstimate::largest() const {
  TORCH_CHECK(!items.empty(), "empty memory estimate");
  return *std::max_element(items.begin(), items.end(),
                           [](const MemoryItem& a, const MemoryItem& b) { return a.bytes < b.bytes; });
}

MemoryEstimate estimate_run_memory(const ExperimentSpec& spec, int64_t inputs, int64_t train_examples) {
  constexpr int64_t f32 = 4, f64 = 8;
  const auto& m = spec.model;
  const int64_t hidden = m.hidden;
  const int64_t units = sum(inputs, hidden);
  MemoryEstimate e;

  // Weights: W (and W' when untied), biases; with their gradients and the optimizer's state.
  const bool rbm = m.type == ModelType::rbm;
  const int64_t weights = product({rbm || m.tied ? 1 : 2, hidden, inputs});
  const int64_t parameters = sum(weights, units);
  const auto& opt = spec.optimizer;
  const int64_t state = opt.type == OptimizerType::adam ? 2 : (opt.momentum > 0 ? 1 : 0);
  e.items.push_back({"model.hidden",
                     state > 0 ? "the weights, their gradients and the optimizer's state"
                               : "the weights and their gradients",
                     product({parameters, 2 + state, f32})});

  // One step's batch: the input, the code and the reconstruction, each kept for the backward.
  const int64_t batch = std::max<int64_t>(1, std::min(spec.training.batch_size, train_examples));
  e.items.push_back({"training.batch_size", "one batch's inputs, codes and reconstructions",
                     product({batch, sum(product({2, inputs}), hidden), f32})});

  const auto& r = spec.regularizers;
  if (r.contractive.weight > 0 && r.contractive.method == ContractiveMethod::stochastic) {
    e.items.push_back({"regularizers.contractive.projections", "one input-sized product per projection and example",
                       product({r.contractive.projections, batch, inputs, f32})});
  }
  if (r.higher_order.weight > 0) {
    e.items.push_back({"regularizers.higher_order.corruptions", "the corrupted copies of a batch and their codes",
                       product({r.higher_order.corruptions, batch, units, f32})});
  }
  if (rbm && m.persistent && m.chains > 0) {
    e.items.push_back({"model.chains", "the persistent chains' visible and hidden states",
                       product({m.chains, units, f32})});
  }
  if (rbm && hidden > 20 && m.ais_betas > 0) {
    // AIS keeps each run's visible state, its hidden activations and their float64 temporaries.
    e.items.push_back({"model.ais_runs", "AIS's chains (float64)", product({m.ais_runs, units, 2, f64})});
  }
  return e;
}

std::string format_bytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 6) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

namespace {

int64_t key_value(const ExperimentSpec& spec, const std::string& key) {
  if (key == "model.hidden") return spec.model.hidden;
  if (key == "training.batch_size") return spec.training.batch_size;
  if (key == "regularizers.contractive.projections") return spec.regularizers.contractive.projections;
  if (key == "regularizers.higher_order.corruptions") return spec.regularizers.higher_order.corruptions;
  if (key == "model.chains") return spec.model.chains;
  if (key == "model.ais_runs") return spec.model.ais_runs;
  return 0;
}

}  // namespace

void check_run_fits(const ExperimentSpec& spec, int64_t inputs, int64_t train_examples,
                    const torch::Device& device) {
  const auto available = available_memory(device);
  if (available.bytes < 0) return;
  const auto estimate = estimate_run_memory(spec, inputs, train_examples);
  if (estimate.total() <= available.bytes) return;
  const auto& largest = estimate.largest();
  throw ResourceError(fmt::format(
      "{}: needs at least {} of memory, {} available ({}): {} = {} sizes {} ({})",
      spec.file.empty() ? "the experiment" : spec.file, format_bytes(estimate.total()),
      format_bytes(available.bytes), available.source, largest.key,
      key_value(spec, largest.key), largest.what, format_bytes(largest.bytes)));
}

}  // namespace carve
