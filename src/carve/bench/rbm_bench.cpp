// carve bench rbm: one epoch of PCD-1 (784 -> 1000, batch 100, plain SGD at 0.1) beside
// scikit-learn's BernoulliRBM doing the same on the same number of examples.
#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>

#include "carve/bench/benchmarks.h"
#include "carve/bench/measure.h"
#include "carve/error.h"
#include "carve/train/contrastive_divergence.h"
#include "carve/models/rbm.h"

namespace carve::bench {

nlohmann::json bench_rbm(const RbmBenchConfig& c) {
  if (c.examples <= 0 || c.repeats <= 0) throw UsageError("--examples and --repeats must be positive");
  const int64_t visible = 784, hidden = 1000, batch = 100;
  torch::manual_seed(0);
  const auto x = torch::bernoulli(torch::full({c.examples, visible}, 0.2));
  double best = 1e300;
  for (int64_t r = 0; r < c.repeats; ++r) {
    RBM rbm(RBMOptions(visible, hidden));
    torch::optim::SGD opt(rbm->parameters(), torch::optim::SGDOptions(0.1));
    ContrastiveDivergence cd(CDOptions().k(1).persistent(true));
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < c.examples; i += batch) {
      cd.accumulate(*rbm, x.slice(0, i, i + batch));
      opt.step();
    }
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  nlohmann::json j{{"bench", "rbm"}, {"visible", visible}, {"hidden", hidden}, {"batch", batch},
                   {"examples", c.examples}, {"threads", torch::get_num_threads()}, {"carve_seconds", best},
                   {"carve_examples_per_s", c.examples / best}, {"goals", nlohmann::json::array()}};
  if (!c.python.empty()) {
    for (const char* dtype : {"float32", "float64"}) {
      const auto py = run_peer(fmt::format("'{}' '{}' --examples {} --repeats {} --threads {} --dtype {}", c.python,
                                           c.peer, c.examples, c.repeats, torch::get_num_threads(), dtype));
      j[std::string("sklearn_") + dtype + "_examples_per_s"] = py["examples_per_s"];
      j[std::string("carve_over_sklearn_") + dtype] = py["seconds"].get<double>() / best;
    }
  }
  return j;
}

}  // namespace carve::bench
