// carve bench train: the trainer's own CAE step beside a PyTorch script and the roofline.
#include <fmt/format.h>
#include <torch/torch.h>

#include "carve/bench/benchmarks.h"
#include "carve/bench/measure.h"
#include "carve/config/experiment.h"
#include "carve/device.h"
#include "carve/error.h"
#include "carve/train/fused_finetune.h"
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

// The five products a fine-tuning step of one hidden layer and a softmax output requires
// (issue 29): forward x W1ᵀ and h Vᵀ; backward the output weights' gradient dZᵀ h, the code's
// gradient dZ V and the hidden weights' gradient dAᵀ x. No input gradient.
Roofline finetune_roofline(int64_t inputs, int64_t hidden, int64_t classes, int64_t batch, int64_t steps,
                           const torch::Device& device) {
  const auto on = torch::TensorOptions().device(device);
  const auto x = torch::rand({batch, inputs}, on), w = torch::rand({hidden, inputs}, on);
  const auto h = torch::rand({batch, hidden}, on), v = torch::rand({classes, hidden}, on);
  const auto dz = torch::rand({batch, classes}, on), da = torch::rand({batch, hidden}, on);
  return Roofline({{"encode x W^T", x, w.t()},
                   {"logits h V^T", h, v.t()},
                   {"output weight gradient dZ^T h", dz.t(), h},
                   {"code gradient dZ V", dz, v},
                   {"hidden weight gradient dA^T x", da.t(), x}},
                  steps, device);
}

// The median time of fine-tuning's step as the fine-tuner takes it per batch (the batch's rows
// selected, the gradients, the optimizer's step, the loss read back), fused or through autograd,
// on a network of one sigmoid layer and a zero softmax output over 784 -> hidden -> classes.
double finetune_step_ms(int64_t inputs, int64_t hidden, int64_t classes, int64_t batch, int64_t steps,
                        const torch::Device& device, bool fused) {
  torch::manual_seed(0);
  const auto on = torch::TensorOptions().device(device);
  const std::vector<AffineLayer> layers{{(torch::rand({hidden, inputs}, on) * 0.1 - 0.05).requires_grad_(true),
                                         torch::zeros({hidden}, on).requires_grad_(true), Activation::sigmoid}};
  const auto out_w = torch::zeros({classes, hidden}, on).requires_grad_(true);
  const auto out_b = torch::zeros({classes}, on).requires_grad_(true);
  const std::vector<torch::Tensor> params{layers[0].weight, layers[0].bias, out_w, out_b};
  OptimizerSpec sgd;
  sgd.lr = 0.02;
  sgd.momentum = 0.9;
  const auto optimizer = make_optimizer(sgd, params);
  const auto data = torch::rand({20 * batch, inputs}, on);
  const auto labels = torch::randint(0, classes, {20 * batch}, torch::TensorOptions().dtype(torch::kInt64).device(device));
  const auto perm = torch::randperm(20 * batch, torch::TensorOptions().dtype(torch::kInt64).device(device));
  FusedMlpStep step(true);
  int64_t i = 0;
  double loss_sum = 0;
  const auto one = [&] {
    const auto idx = perm.slice(0, (i % 20) * batch, (i % 20 + 1) * batch);
    const auto x = data.index_select(0, idx), y = labels.index_select(0, idx);
    torch::Tensor loss;
    if (fused) {
      loss = step.compute_gradients(layers, out_w, out_b, x, y);
    } else {
      for (auto p : params) p.mutable_grad() = torch::Tensor();
      loss = torch::nn::functional::cross_entropy(
          torch::nn::functional::linear(torch::sigmoid(torch::nn::functional::linear(x, layers[0].weight, layers[0].bias)),
                                        out_w, out_b),
          y);
      loss.backward({}, c10::nullopt, false, params);
    }
    optimizer->step();
    loss_sum += loss.item<double>();
    ++i;
  };
  for (int w = 0; w < 10; ++w) one();
  return median_ms(one, steps, device);
}

nlohmann::json finetune_point(int64_t inputs, int64_t hidden, int64_t classes, int64_t batch, int64_t steps,
                              const torch::Device& device) {
  auto roofline = finetune_roofline(inputs, hidden, classes, batch, steps, device);
  roofline.before();
  const double fused_ms = finetune_step_ms(inputs, hidden, classes, batch, steps, device, true);
  const double autograd_ms = finetune_step_ms(inputs, hidden, classes, batch, steps, device, false);
  roofline.after();
  const double roofline_ms = roofline.ms();
  return {{"inputs", inputs}, {"hidden", hidden}, {"classes", classes}, {"batch", batch},
          {"carve_ms", fused_ms}, {"carve_autograd_ms", autograd_ms}, {"fused_over_autograd", autograd_ms / fused_ms},
          {"carve_examples_per_s", batch / (fused_ms / 1e3)}, {"roofline_ms", roofline_ms},
          {"roofline", roofline.to_json()}, {"roofline_fraction", roofline_ms / fused_ms}};
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
  // Fine-tuning's step at Table 1's sizes (784 -> 1000 -> 10, batch 20): issue 29's goal, 80% of
  // its five-product roofline.
  const auto f = finetune_point(784, 1000, 10, 20, c.steps * 3, device);
  if (!cuda) {
    r["goals"].push_back(roofline_goal("fine-tuning 784 -> 1000 -> 10, batch 20: fraction of the five-product roofline",
                                       f["roofline_fraction"], 0.80, f["roofline"]));
  }
  r["finetune"] = f;
  return r;
}

}  // namespace carve::bench
