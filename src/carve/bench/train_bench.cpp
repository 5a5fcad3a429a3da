// carve bench train: the trainer's own CAE step beside a PyTorch script and the roofline.
#include <fmt/format.h>
#include <torch/torch.h>

#include "carve/bench/benchmarks.h"
#include "carve/bench/measure.h"
#include "carve/config/experiment.h"
#include "carve/device.h"
#include "carve/error.h"
#include "carve/train/optimizer.h"
#include "carve/train/pretrainable.h"

namespace carve::bench {

namespace {

// The five products a CAE step requires at its shapes (issue 29): encode x Wᵀ, decode h W, the
// code's gradient dZ W ([B, D] x [D, H]), and the weight gradients hᵀ dZ and dAᵀ x. Not the
// input's gradient dA W, which no step needs (carve's fused step does not compute it; an autograd
// step happens to, for nothing).
Roofline cae_roofline(int64_t inputs, int64_t hidden, int64_t batch, int64_t steps, const torch::Device& device) {
  const auto on = torch::TensorOptions().device(device);
  const auto x = torch::rand({batch, inputs}, on), w = torch::rand({hidden, inputs}, on);
  const auto h = torch::rand({batch, hidden}, on), dz = torch::rand({batch, inputs}, on);
  const auto da = torch::rand({batch, hidden}, on);
  return Roofline({{"encode x W^T", x, w.t()},
                   {"decode h W", h, w},
                   {"code gradient dZ W^T", dz, w.t()},
                   {"decoder weight gradient h^T dZ", h.t(), dz},
                   {"encoder weight gradient dA^T x", da.t(), x}},
                  steps, device);
}

// The median time of the trainer's CAE step (make_pretrainable + make_optimizer) with `step`.
double step_ms(int64_t inputs, int64_t hidden, int64_t batch, int64_t steps, const torch::Device& device,
               const std::string& step) {
  const auto spec = parse_experiment(
      fmt::format("name: bench\ndata: {{dataset: mnist}}\nmodel: {{hidden: {}}}\n"
                  "regularizers: {{contractive: {{weight: 0.1, method: analytic}}}}\n"
                  "optimizer: {{type: sgd, lr: 0.01, momentum: 0.9}}\ntraining: {{batch_size: {}, step: {}}}\n",
                  hidden, batch, step),
      "bench.yaml");
  torch::manual_seed(0);
  const auto model = make_pretrainable(spec, inputs);
  model->module().to(device);
  const auto optimizer = make_optimizer(spec.optimizer, model->module().parameters());
  const auto data = torch::rand({20 * batch, inputs}, torch::TensorOptions().device(device));
  int64_t i = 0;
  const auto one = [&] {  // what the trainer does per batch
    model->compute_gradients(data.slice(0, (i % 20) * batch, (i % 20 + 1) * batch));
    optimizer->step();
    ++i;
  };
  for (int w = 0; w < 10; ++w) one();
  return median_ms(one, steps, device);
}

nlohmann::json bench_point(int64_t inputs, int64_t hidden, int64_t batch, int64_t steps, const TrainBenchConfig& c,
                           const torch::Device& device) {
  // training.step auto (the fused step, issue 17) and autograd, side by side, between two
  // measurements of the roofline's products.
  auto roofline = cae_roofline(inputs, hidden, batch, steps, device);
  roofline.before();
  const double carve_ms = step_ms(inputs, hidden, batch, steps, device, "auto");
  const double autograd_ms = step_ms(inputs, hidden, batch, steps, device, "autograd");
  roofline.after();
  const double roofline_ms = roofline.ms();
  nlohmann::json j{{"inputs", inputs}, {"hidden", hidden}, {"batch", batch}, {"carve_ms", carve_ms},
                   {"carve_autograd_ms", autograd_ms}, {"fused_over_autograd", autograd_ms / carve_ms},
                   {"carve_examples_per_s", batch / (carve_ms / 1e3)}, {"roofline_ms", roofline_ms},
                   {"roofline", roofline.to_json()},
                   {"sgemm_gflops", 5 * 2.0 * batch * inputs * hidden / (roofline_ms * 1e6)},
                   {"roofline_fraction", roofline_ms / carve_ms}};
  if (!c.python.empty()) {
    const auto py = run_peer(fmt::format("'{}' '{}' --inputs {} --hidden {} --batch {} --steps {} --threads {} --device {}",
                                         c.python, c.peer, inputs, hidden, batch, steps, torch::get_num_threads(),
                                         device.str()));
    j["python_ms"] = py["ms"];
    j["python_examples_per_s"] = py["examples_per_s"];
    j["carve_over_python"] = py["ms"].get<double>() / carve_ms;
  }
  return j;
}

}  // namespace

nlohmann::json bench_train(const TrainBenchConfig& c) {
  if (c.steps <= 0) throw UsageError(fmt::format("--steps must be positive, got {}", c.steps));
  const auto device = resolve_device(c.device);
  nlohmann::json r{{"bench", "train"}, {"device", device.str()}, {"threads", torch::get_num_threads()},
                   {"points", nlohmann::json::array()}, {"goals", nlohmann::json::array()}};
  // The paper's CAE and a small model. On the CPU, the roofline issue's goals; on CUDA, where a
  // step at these sizes waits on kernel launches rather than arithmetic, issue 13's: 1.2x Python.
  struct Point {
    int64_t hidden, batch, steps;
    double roofline_goal, python_goal;
  };
  const bool cuda = device.is_cuda();
  // The paper's batch (20) beside 100; goals of issue 29 (the five-product roofline).
  for (const auto& p : {Point{1000, 20, c.steps * 3, 0.90, cuda ? 1.2 : 1.5}, Point{1000, 100, c.steps, 0.90, cuda ? 1.2 : 1.5},
                        Point{64, 32, c.steps * 5, 0.60, cuda ? 1.2 : 3.0}}) {
    const auto j = bench_point(784, p.hidden, p.batch, p.steps, c, device);
    const auto name = fmt::format("784 -> {}, batch {}", p.hidden, p.batch);
    if (!cuda) {
      r["goals"].push_back(roofline_goal(name + ": fraction of the five-product roofline", j["roofline_fraction"],
                                         p.roofline_goal, j["roofline"]));
    }
    if (j.contains("carve_over_python")) {
      r["goals"].push_back(goal(name + ": carve / python throughput", j["carve_over_python"], ">=", p.python_goal));
    }
    r["points"].push_back(j);
  }
  return r;
}

}  // namespace carve::bench
