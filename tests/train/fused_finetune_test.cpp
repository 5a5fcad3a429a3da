// The fused fine-tuning step (issue 29, point 3): its loss and every gradient equal the autograd
// step's to 1e-10 in float64 over every activation, depth, mode and optimizer, step after step
// (its kept buffers reused, an epoch's smaller last batch included), and its gradients match
// central differences of the cross-entropy.
#include "carve/train/fused_finetune.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "carve/config/experiment.h"
#include "carve/train/optimizer.h"
#include "carve/train/trainer.h"
#include "support/devices.h"
#include "support/gradcheck.h"

namespace carve {
namespace {

// A float64 network of `depth` hidden layers (the activations cycle from `first`), its output
// layer, and the tensors a fine-tuning step trains.
struct Network {
  std::vector<AffineLayer> hidden;
  torch::Tensor out_w, out_b;

  Network(int64_t inputs, int64_t depth, size_t first, int64_t classes, bool train_hidden) {
    const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
    int64_t in = inputs;
    for (int64_t l = 0; l < depth; ++l) {
      const int64_t out = 5 - l;
      const auto act = static_cast<Activation>((first + static_cast<size_t>(l)) % activation_names().size());
      hidden.push_back({(torch::rand({out, in}, f64) * 2 - 1).requires_grad_(train_hidden),
                        (torch::rand({out}, f64) - 0.5).requires_grad_(train_hidden), act});
      in = out;
    }
    // Not zero, as fine-tuning starts, so that the hidden layers get a gradient from the first step.
    out_w = (torch::rand({classes, in}, f64) - 0.5).requires_grad_(true);
    out_b = (torch::rand({classes}, f64) - 0.5).requires_grad_(true);
  }
  std::vector<torch::Tensor> trained(bool train_hidden) const {
    std::vector<torch::Tensor> p;
    if (train_hidden) {
      for (const auto& l : hidden) p.push_back(l.weight), p.push_back(l.bias);
    }
    p.push_back(out_w), p.push_back(out_b);
    return p;
  }
  // What fine-tuning's autograd step differentiates.
  torch::Tensor loss(const torch::Tensor& x, const torch::Tensor& y) const {
    torch::Tensor h = x;
    for (const auto& l : hidden) h = activate(l.activation, torch::nn::functional::linear(h, l.weight, l.bias));
    return torch::nn::functional::cross_entropy(torch::nn::functional::linear(h, out_w, out_b), y);
  }
  Network copy() const {
    Network n = *this;
    for (auto& l : n.hidden) {
      l.weight = l.weight.detach().clone().requires_grad_(l.weight.requires_grad());
      l.bias = l.bias.detach().clone().requires_grad_(l.bias.requires_grad());
    }
    n.out_w = out_w.detach().clone().requires_grad_(true);
    n.out_b = out_b.detach().clone().requires_grad_(true);
    return n;
  }
};

OptimizerSpec optimizer_of(OptimizerType type) {
  OptimizerSpec o;
  o.type = type;
  o.lr = type == OptimizerType::adam ? 0.01 : 0.3;
  o.momentum = 0.9;
  return o;
}

TEST(FusedFinetune, EveryActivationDepthModeAndOptimizerEqualsAutograd) {
  const int64_t inputs = 7, classes = 4;
  int cases = 0;
  for (size_t first = 0; first < activation_names().size(); ++first) {
    for (int64_t depth = 1; depth <= 3; ++depth) {
      for (const bool train_hidden : {true, false}) {
        for (const auto type : {OptimizerType::sgd, OptimizerType::adam}) {
          const auto what = fmt::format("first activation {}, depth {}, {}, {}", activation_names()[first], depth,
                                        train_hidden ? "mlp" : "linear_probe", type == OptimizerType::sgd ? "sgd" : "adam");
          torch::manual_seed(static_cast<uint64_t>(100 * first + 10 * depth + train_hidden));
          const Network start(inputs, depth, first, classes, train_hidden);
          Network fused_net = start.copy(), reference = start.copy();
          const auto fused_params = fused_net.trained(train_hidden), reference_params = reference.trained(train_hidden);
          auto fused_opt = make_optimizer(optimizer_of(type), fused_params);
          auto reference_opt = make_optimizer(optimizer_of(type), reference_params);
          FusedMlpStep step(train_hidden);
          // Three steps: two batches of 6, then an epoch's smaller last batch (its buffers reused).
          for (const int64_t batch : {6, 6, 4}) {
            const auto x = torch::rand({batch, inputs}, torch::kFloat64) * 4 - 2;  // softplus/relu both sides of 0
            const auto y = torch::randint(0, classes, {batch}, torch::kInt64);
            const auto loss = step.compute_gradients(fused_net.hidden, fused_net.out_w, fused_net.out_b, x, y);
            clear_gradients(reference_params);
            const auto expected = reference.loss(x, y);
            expected.backward({}, c10::nullopt, false, reference_params);
            EXPECT_LE(std::abs(loss.item<double>() - expected.item<double>()), 1e-12 * std::abs(expected.item<double>()))
                << what;
            for (size_t i = 0; i < fused_params.size(); ++i) {
              ASSERT_TRUE(fused_params[i].grad().defined()) << what << " tensor " << i;
              EXPECT_LE(testing::relative_error(fused_params[i].grad(), reference_params[i].grad()), 1e-10)
                  << what << " tensor " << i << " batch " << batch;
            }
            if (!train_hidden) {
              for (const auto& l : fused_net.hidden) EXPECT_FALSE(l.weight.grad().defined()) << what;
            }
            fused_opt->step();
            reference_opt->step();
          }
          for (size_t i = 0; i < fused_params.size(); ++i) {
            EXPECT_LE(testing::relative_error(fused_params[i], reference_params[i]), 1e-10) << what << " tensor " << i;
          }
          ++cases;
        }
      }
    }
  }
  EXPECT_EQ(cases, 5 * 3 * 2 * 2);
}

// The fused gradients against central differences of the cross-entropy itself (no autograd in
// the reference): every entry of every trained tensor, one network per activation.
TEST(FusedFinetune, GradientsMatchCentralDifferences) {
  for (size_t first = 0; first < activation_names().size(); ++first) {
    torch::manual_seed(static_cast<uint64_t>(first));
    Network net(4, 2, first, 3, true);
    const auto x = torch::rand({5, 4}, torch::kFloat64) * 4 - 2;
    const auto y = torch::randint(0, 3, {5}, torch::kInt64);
    FusedMlpStep step(true);
    step.compute_gradients(net.hidden, net.out_w, net.out_b, x, y);
    torch::NoGradGuard no_grad;
    double diff2 = 0, sum2 = 0;
    for (auto& p : net.trained(true)) {
      const auto grad = p.grad().clone();
      auto flat = p.detach().view(-1);
      for (int64_t i = 0; i < flat.numel(); ++i) {
        const double saved = flat[i].item<double>(), eps = 1e-6;
        flat[i].fill_(saved + eps);
        const double up = net.loss(x, y).item<double>();
        flat[i].fill_(saved - eps);
        const double down = net.loss(x, y).item<double>();
        flat[i].fill_(saved);
        const double numeric = (up - down) / (2 * eps), g = grad.view(-1)[i].item<double>();
        diff2 += (g - numeric) * (g - numeric);
        sum2 += (g + numeric) * (g + numeric);
      }
    }
    EXPECT_LE(std::sqrt(diff2 / sum2), 1e-7) << activation_names()[first];
  }
}

// On a GPU the same step, the same numbers (float64), every activation at depth 2, both modes.
TEST(FusedFinetuneCuda, EqualsTheCpuStep) {
  CARVE_REQUIRE_CUDA();
  for (size_t first = 0; first < activation_names().size(); ++first) {
    for (const bool train_hidden : {true, false}) {
      torch::manual_seed(static_cast<uint64_t>(first));
      const Network cpu(7, 2, first, 4, train_hidden);
      Network gpu = cpu.copy();
      for (auto& l : gpu.hidden) {
        l.weight = l.weight.detach().to(torch::kCUDA).requires_grad_(train_hidden);
        l.bias = l.bias.detach().to(torch::kCUDA).requires_grad_(train_hidden);
      }
      gpu.out_w = gpu.out_w.detach().to(torch::kCUDA).requires_grad_(true);
      gpu.out_b = gpu.out_b.detach().to(torch::kCUDA).requires_grad_(true);
      FusedMlpStep on_cpu(train_hidden), on_gpu(train_hidden);
      for (const int64_t rows : {6, 4}) {
        const auto x = torch::rand({rows, 7}, torch::kFloat64) * 4 - 2;
        const auto y = torch::randint(0, 4, {rows}, torch::kInt64);
        const auto a = on_cpu.compute_gradients(cpu.hidden, cpu.out_w, cpu.out_b, x, y);
        const auto b = on_gpu.compute_gradients(gpu.hidden, gpu.out_w, gpu.out_b, x.to(torch::kCUDA), y.to(torch::kCUDA));
        EXPECT_NEAR(b.item<double>(), a.item<double>(), 1e-12 * std::abs(a.item<double>()));
        const auto pc = cpu.trained(train_hidden), pg = gpu.trained(train_hidden);
        for (size_t i = 0; i < pc.size(); ++i) {
          ASSERT_TRUE(pg[i].grad().is_cuda());
          EXPECT_LE(testing::relative_error(pg[i].grad().cpu(), pc[i].grad()), 1e-10) << first << " tensor " << i;
        }
      }
    }
  }
}

}  // namespace
}  // namespace carve
