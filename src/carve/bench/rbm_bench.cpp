// carve bench rbm: one epoch of PCD-1 (784 -> 1000, batch 100, plain SGD at 0.1) with the
// trainer's own step, beside scikit-learn's BernoulliRBM doing the same on the same number of
// examples and the roofline of the step's five products.
#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>

#include "carve/bench/benchmarks.h"
#include "carve/bench/measure.h"
#include "carve/config/experiment.h"
#include "carve/error.h"
#include "carve/train/optimizer.h"
#include "carve/train/pretrainable.h"

namespace carve::bench {

namespace {

// The five products of a PCD-1 step (chains as many as the batch), each timed alone at its shapes:
// p(h | v0) and p(h | chains) [B, V] x [V, H], p(v | h) [B, H] x [H, V], p(h | v1) again, and the
// weight gradient of both phases in one [H, 2B] x [2B, V] product.
Roofline rbm_roofline(int64_t visible, int64_t hidden, int64_t batch, int64_t repeats) {
  const auto v = torch::rand({batch, visible}), w = torch::rand({hidden, visible});
  const auto h = torch::rand({batch, hidden}), h2 = torch::rand({2 * batch, hidden}), v2 = torch::rand({2 * batch, visible});
  return Roofline({{"p(h | v) v W^T (data, chains, reconstruction)", v, w.t(), 3},
                   {"p(v | h) h W", h, w},
                   {"weight gradient [h0; hk]^T [v0; vk]", h2.t(), v2}},
                  repeats, torch::kCPU);
}

}  // namespace

nlohmann::json bench_rbm(const RbmBenchConfig& c) {
  if (c.examples <= 0 || c.repeats <= 0) throw UsageError("--examples and --repeats must be positive");
  const int64_t visible = 784, hidden = 1000, batch = 100;
  torch::manual_seed(0);
  const auto x = torch::bernoulli(torch::full({c.examples, visible}, 0.2));
  double best = 1e300;
  auto roofline = rbm_roofline(visible, hidden, batch, 50);
  roofline.before();
  // The trainer's own step (make_pretrainable + make_optimizer); its monitoring runs once an epoch, outside.
  const auto spec = parse_experiment(
      fmt::format("name: bench\ndata: {{dataset: mnist}}\nmodel: {{type: rbm, hidden: {}, cd_k: 1, persistent: true}}\n"
                  "optimizer: {{type: sgd, lr: 0.1, momentum: 0}}\ntraining: {{batch_size: {}}}\n",
                  hidden, batch),
      "bench.yaml");
  for (int64_t r = 0; r < c.repeats; ++r) {
    const auto model = make_pretrainable(spec, visible);
    const auto optimizer = make_optimizer(spec.optimizer, model->module().parameters());
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < c.examples; i += batch) {
      model->compute_gradients(x.slice(0, i, i + batch));
      optimizer->step();
    }
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  nlohmann::json j{{"bench", "rbm"}, {"visible", visible}, {"hidden", hidden}, {"batch", batch},
                   {"examples", c.examples}, {"threads", torch::get_num_threads()}, {"carve_seconds", best},
                   {"carve_examples_per_s", c.examples / best}, {"goals", nlohmann::json::array()}};
  // The roofline (issue 17): the step's products alone, per batch, against the measured epoch.
  roofline.after();
  const double roofline_ms = roofline.ms();
  const double steps = static_cast<double>((c.examples + batch - 1) / batch);
  j["roofline_ms_per_step"] = roofline_ms;
  j["roofline"] = roofline.to_json();
  j["roofline_examples_per_s"] = batch / (roofline_ms / 1e3);
  j["sgemm_gflops"] = 2.0 * batch * visible * hidden * 5 / (roofline_ms * 1e6);
  j["roofline_fraction"] = roofline_ms * steps / 1e3 / best;
  j["goals"].push_back(
      roofline_goal("PCD-1 784 -> 1000, batch 100: fraction of the roofline", j["roofline_fraction"], 0.85, j["roofline"]));
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
