#include "carve/train/finetune.h"

#include "carve/train/optimizer.h"

#include <fmt/format.h>

#include <chrono>
#include <numeric>
#include <random>

#include "carve/data/file_bytes.h"
#include "carve/error.h"

namespace carve {

namespace {

struct Mlp {
  std::vector<AffineLayer> hidden;  // copies of the pretrained layers
  torch::Tensor out_w, out_b;

  torch::Tensor logits(const torch::Tensor& x) const {
    torch::Tensor h = x;
    for (const auto& l : hidden) h = activate(l.activation, torch::nn::functional::linear(h, l.weight, l.bias));
    return torch::nn::functional::linear(h, out_w, out_b);
  }
  std::vector<torch::Tensor> parameters(bool train_hidden) const {
    std::vector<torch::Tensor> p;
    if (train_hidden) {
      for (const auto& l : hidden) p.push_back(l.weight), p.push_back(l.bias);
    }
    p.push_back(out_w);
    p.push_back(out_b);
    return p;
  }
};

double error_rate(const Mlp& mlp, const torch::Tensor& x, const torch::Tensor& y) {
  if (x.size(0) == 0) return std::nan("");
  torch::NoGradGuard no_grad;
  int64_t wrong = 0;
  for (int64_t i = 0; i < x.size(0); i += 1000) {
    const auto pred = mlp.logits(x.slice(0, i, i + 1000)).argmax(1);
    wrong += (pred != y.slice(0, i, i + 1000)).sum().item<int64_t>();
  }
  return static_cast<double>(wrong) / static_cast<double>(x.size(0));
}

}  // namespace

FinetuneResult finetune(Encoder& pretrained, const Splits& splits, const FinetuneSpec& spec, uint64_t seed,
                        const torch::Device& device, const std::string& csv_path, const Observers& observers) {
  const auto layers = pretrained.affine_layers();
  if (layers.empty()) throw UsageError("fine-tuning needs an encoder made of Linear + elementwise layers");
  const auto train_x = splits.train.flat().to(device), valid_x = splits.valid.flat().to(device);
  const auto test_x = splits.test.size() > 0 ? splits.test.flat().to(device) : torch::empty({0, train_x.size(1)}, train_x.options());
  const auto train_y = splits.train.labels.to(device), valid_y = splits.valid.labels.to(device);
  const auto test_y = splits.test.size() > 0 ? splits.test.labels.to(device) : torch::empty({0}, train_y.options());
  int64_t classes = train_y.max().item<int64_t>() + 1;
  if (valid_y.numel() > 0) classes = std::max(classes, valid_y.max().item<int64_t>() + 1);
  if (test_y.numel() > 0) classes = std::max(classes, test_y.max().item<int64_t>() + 1);

  const bool train_hidden = spec.mode == FinetuneMode::mlp;
  Mlp mlp;
  for (const auto& l : layers) {
    mlp.hidden.push_back({l.weight.detach().clone().requires_grad_(train_hidden),
                          l.bias.detach().clone().requires_grad_(train_hidden), l.activation});
  }
  const auto opts = train_x.options();
  mlp.out_w = torch::zeros({classes, layers.back().weight.size(0)}, opts).requires_grad_(true);
  mlp.out_b = torch::zeros({classes}, opts).requires_grad_(true);
  const auto params = mlp.parameters(train_hidden);
  const auto optimizer = make_optimizer(spec.optimizer, params);

  FinetuneResult r;
  r.classes = classes;
  double best_valid = std::numeric_limits<double>::infinity();
  int64_t bad = 0;
  std::string csv = "epoch,train_loss,train_error,valid_error,test_error,seconds\n";
  const int64_t n = train_x.size(0);
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ULL);
  std::vector<int64_t> order(n);
  for (int64_t epoch = 1; epoch <= spec.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    std::iota(order.begin(), order.end(), 0);
    shuffle_indices(order, rng);
    const auto perm = torch::tensor(order, torch::kInt64).to(device);
    double loss_sum = 0;
    for (int64_t i = 0; i < n; i += spec.batch_size) {
      const auto idx = perm.slice(0, i, std::min(n, i + spec.batch_size));
      for (auto p : params) p.mutable_grad() = torch::Tensor();
      const auto loss = torch::nn::functional::cross_entropy(mlp.logits(train_x.index_select(0, idx)), train_y.index_select(0, idx));
      loss.backward({}, c10::nullopt, false, params);
      optimizer->step();
      loss_sum += loss.item<double>() * idx.size(0);
    }
    const double train_error = error_rate(mlp, train_x, train_y);
    const double valid_error = error_rate(mlp, valid_x, valid_y);
    const double test_error = error_rate(mlp, test_x, test_y);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    csv += fmt::format("{},{:.9g},{:.9g},{:.9g},{:.9g},{:.3f}\n", epoch, loss_sum / n, train_error, valid_error, test_error, seconds);
    notify(observers, fmt::format("finetune epoch {}/{}  loss {:.4f}  train error {:.4f}  valid error {:.4f}  {:.1f}s",
                                  epoch, spec.epochs, loss_sum / n, train_error, valid_error, seconds));
    r.epochs_run = epoch;
    if (valid_error < best_valid) {
      best_valid = valid_error;
      r = {train_error, valid_error, test_error, epoch, epoch, classes};
      bad = 0;
    } else if (spec.patience > 0 && ++bad >= spec.patience) {
      break;
    }
  }
  data::write_text_file(csv_path, csv);
  return r;
}

}  // namespace carve
