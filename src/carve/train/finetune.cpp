#include "carve/train/finetune.h"

#include <fmt/format.h>

#include <chrono>
#include <limits>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>

#include "carve/export/torchscript.h"
#include "carve/profile.h"
#include "carve/train/checkpoint.h"
#include "carve/train/fused_finetune.h"
#include "carve/train/optimizer.h"
#include "carve/train/stop.h"
#include "carve/train/trainer.h"

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
  // The hidden layers and the output layer (linear), as fine-tuning's products see them.
  std::vector<AffineLayer> layers() const {
    auto l = hidden;
    l.push_back({out_w, out_b, Activation::linear});
    return l;
  }
  std::vector<torch::Tensor> all() const {
    std::vector<torch::Tensor> p;
    for (const auto& l : hidden) p.push_back(l.weight), p.push_back(l.bias);
    p.push_back(out_w);
    p.push_back(out_b);
    return p;
  }
  std::vector<torch::Tensor> trained(bool train_hidden) const {
    auto p = all();
    return train_hidden ? p : std::vector<torch::Tensor>{out_w, out_b};
  }
};

// The classes the network gives the rows of x, 1,000 rows at a time (what error rates and
// test_predictions.csv both count).
torch::Tensor predict(const Mlp& mlp, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  profile::Scope evaluating(profile::Phase::evaluation);
  if (profile::enabled()) count_forward(profile::Phase::evaluation, "classify (error rates)", mlp.layers(), x.size(0));
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < x.size(0); i += 1000) parts.push_back(mlp.logits(x.slice(0, i, i + 1000)).argmax(1));
  return torch::cat(parts);
}

double error_rate(const Mlp& mlp, const torch::Tensor& x, const torch::Tensor& y) {
  if (x.size(0) == 0) return std::nan("");
  const int64_t wrong = (predict(mlp, x) != y).sum().item<int64_t>();
  return static_cast<double>(wrong) / static_cast<double>(x.size(0));
}

// The products a fine-tuning step of b examples requires, for carve::profile: each layer's
// forward, then the output weights' gradient and, when the hidden layers train, per hidden layer
// from the top the gradient of its output and its weight gradient (no input gradient).
void count_step_products(const Mlp& mlp, int64_t b, bool train_hidden) {
  if (!profile::enabled()) return;
  using profile::Phase;
  const auto layers = mlp.layers();
  count_forward(Phase::finetune_steps, "forward h W^T", layers, b);
  const int64_t top = static_cast<int64_t>(layers.size()) - 1;
  for (int64_t l = top; l >= (train_hidden ? 0 : top); --l) {
    const auto& w = layers[l].weight;  // [out, in]
    profile::count_product(Phase::finetune_steps, "weight gradient dA^T h", {w.size(0), b, w.size(1), true, false});
    if (l > 0 && train_hidden) {
      profile::count_product(Phase::finetune_steps, "backward dA W", {b, w.size(0), w.size(1), false, false});
    }
  }
}

struct Labeled {
  torch::Tensor x, y;
};
Labeled on_device(const Dataset& d, int64_t inputs, const torch::Device& device) {
  if (d.size() == 0) return {torch::empty({0, inputs}, torch::kFloat32).to(device), torch::empty({0}, torch::kInt64).to(device)};
  return {d.flat().to(device), d.labels.to(device)};
}

// Fine-tuning's own position, beside the network and optimizer in finetune.pt.
struct State {
  uint64_t pretrained = 0;  // fingerprint of the encoder it started from
  int64_t epoch = 0;        // epochs completed
  int64_t step = 0;         // batches done in epoch `epoch` (0: at an epoch boundary)
  double loss_sum = 0;      // of those batches
  std::string order_rng;    // the order generator at the start of epoch `epoch`
  double best_valid = std::numeric_limits<double>::infinity();
  int64_t bad = 0;
  bool stopped_early = false;
  FinetuneResult result;
  std::string csv = "epoch,train_loss,train_error,valid_error,test_error,seconds\n";
  std::vector<torch::Tensor> best;  // every MLP tensor at the best validation epoch
};

std::string rng_text(const std::mt19937_64& rng) {
  std::ostringstream out;
  out << rng;
  return out.str();
}

class Finetuner {
 public:
  Finetuner(Encoder& pretrained, const Splits& splits, const FinetuneSpec& spec, uint64_t seed,
            const torch::Device& device, const RunDirectory& dir, const Observers& observers);
  FinetuneResult run();
  std::string step_name() const { return fused_ ? "fused" : "autograd"; }

 private:
  void train_epoch();
  void save() const;
  bool load();
  [[noreturn]] void stop(int signal, const std::string& where) const;
  void write_test_predictions(const Mlp& best) const;

  const FinetuneSpec& spec_;
  const torch::Device device_;
  const RunDirectory& dir_;
  const Observers& observers_;
  Labeled train_, valid_, test_;
  torch::Tensor test_index_;  // the test examples' indices in their source (splits.h), or undefined
  Mlp mlp_;
  std::vector<torch::Tensor> params_;
  std::vector<torch::Tensor> decayed_;  // the weight matrices being trained, for finetune.weight_decay
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::optional<FusedMlpStep> fused_;  // finetune.step resolved to fused (fused_finetune.h)
  std::mt19937_64 rng_;
  State state_;
};

Finetuner::Finetuner(Encoder& pretrained, const Splits& splits, const FinetuneSpec& spec, uint64_t seed,
                     const torch::Device& device, const RunDirectory& dir, const Observers& observers)
    : spec_(spec), device_(device), dir_(dir), observers_(observers), rng_(seed ^ 0x9e3779b97f4a7c15ULL) {
  const auto layers = pretrained.affine_layers();
  TORCH_CHECK(!layers.empty(), "fine-tuning needs an encoder made of Linear + elementwise layers");
  const int64_t inputs = layers.front().weight.size(1);
  train_ = on_device(splits.train, inputs, device);
  valid_ = on_device(splits.valid, inputs, device);
  test_ = on_device(splits.test, inputs, device);
  test_index_ = splits.test_index;
  int64_t classes = train_.y.max().item<int64_t>() + 1;
  for (const auto* y : {&valid_.y, &test_.y})
    if (y->numel() > 0) classes = std::max(classes, y->max().item<int64_t>() + 1);

  const bool train_hidden = spec.mode == FinetuneMode::mlp;
  std::vector<torch::Tensor> encoder_tensors;
  for (const auto& l : layers) {
    mlp_.hidden.push_back({l.weight.detach().clone().requires_grad_(train_hidden),
                           l.bias.detach().clone().requires_grad_(train_hidden), l.activation});
    encoder_tensors.push_back(l.weight), encoder_tensors.push_back(l.bias);
  }
  const auto opts = train_.x.options();
  mlp_.out_w = torch::zeros({classes, layers.back().weight.size(0)}, opts).requires_grad_(true);
  mlp_.out_b = torch::zeros({classes}, opts).requires_grad_(true);
  params_ = mlp_.trained(train_hidden);
  for (const auto& p : params_) {
    if (p.dim() == 2) decayed_.push_back(p);
  }
  optimizer_ = make_optimizer(spec.optimizer, params_);
  // The fused step covers every network built here: auto and fused both choose it.
  if (spec.step != TrainingStep::autograd) fused_.emplace(train_hidden);
  state_.pretrained = fingerprint(encoder_tensors);
  state_.result.classes = classes;
  state_.order_rng = rng_text(rng_);
}

void Finetuner::save() const {
  profile::Scope writing(profile::Phase::writes);
  torch::serialize::OutputArchive out, opt_out;
  const auto tensors = mlp_.all();
  for (size_t i = 0; i < tensors.size(); ++i) out.write(fmt::format("mlp_{}", i), tensors[i].detach().cpu());
  for (size_t i = 0; i < state_.best.size(); ++i) out.write(fmt::format("best_{}", i), state_.best[i].cpu());
  optimizer_->save(opt_out);
  out.write("optimizer", opt_out);
  const auto& r = state_.result;
  out.write("position", torch::tensor({static_cast<int64_t>(state_.pretrained), state_.epoch, state_.step, state_.bad,
                                       int64_t{state_.stopped_early}, r.best_epoch, r.epochs_run, r.classes},
                                      torch::kInt64));
  out.write("values", torch::tensor({state_.loss_sum, state_.best_valid, r.train_error, r.valid_error, r.test_error},
                                    torch::kFloat64));
  out.write("order_rng", text_tensor(state_.order_rng));
  out.write("step", text_tensor(step_name()));
  out.write("csv", text_tensor(state_.csv));
  dir_.write("finetune.pt", seal_archive(out), RunDirectory::previous_of("finetune.pt"));
}

// Continues from finetune.pt when it belongs to this encoder; false to start afresh.
bool Finetuner::load() {
  if (!dir_.has("finetune.pt") && !dir_.has(RunDirectory::previous_of("finetune.pt"))) return false;
  auto opened =
      open_checkpoint_to_resume(dir_, "finetune.pt", [this](const std::string& line) { notify(observers_, line); });
  auto& in = opened.archive;
  torch::serialize::InputArchive opt_in;
  torch::Tensor position, values, text;
  in.read("position", position);
  if (static_cast<uint64_t>(position[0].item<int64_t>()) != state_.pretrained) {
    notify(observers_, fmt::format("{}: the encoder changed since finetune.pt: fine-tuning afresh", dir_.path().string()));
    return false;
  }
  {
    torch::NoGradGuard no_grad;
    auto tensors = mlp_.all();
    for (size_t i = 0; i < tensors.size(); ++i) {
      torch::Tensor t;
      in.read(fmt::format("mlp_{}", i), t);
      tensors[i].copy_(t);
    }
  }
  for (size_t i = 0;; ++i) {
    torch::Tensor t;
    if (!in.try_read(fmt::format("best_{}", i), t)) break;
    state_.best.push_back(t.to(device_));
  }
  in.read("optimizer", opt_in);
  restore_optimizer(opt_in, *optimizer_);
  restore_generators(in);
  const auto p = position.accessor<int64_t, 1>();
  state_.epoch = p[1], state_.step = p[2], state_.bad = p[3], state_.stopped_early = p[4] != 0;
  auto& r = state_.result;
  r.best_epoch = p[5], r.epochs_run = p[6], r.classes = p[7];
  in.read("values", values);
  const auto v = values.accessor<double, 1>();
  state_.loss_sum = v[0], state_.best_valid = v[1], r.train_error = v[2], r.valid_error = v[3], r.test_error = v[4];
  in.read("order_rng", text);
  state_.order_rng = tensor_text(text);
  std::istringstream(state_.order_rng) >> rng_;
  in.read("csv", text);
  state_.csv = tensor_text(text);
  // A resumed fine-tuning keeps the step it started with (a finetune.pt without one is older
  // than the fused step: autograd), so that it continues bit-identically.
  const std::string started = in.try_read("step", text) ? tensor_text(text) : "autograd";
  if (started != step_name()) {
    notify(observers_, fmt::format("{}: keeping the {} fine-tuning step finetune.pt started with (finetune.step now gives {})",
                                   dir_.path().string(), started, step_name()));
    if (started == "autograd") {
      fused_.reset();
    } else {
      fused_.emplace(spec_.mode == FinetuneMode::mlp);
    }
  }
  return true;
}

void Finetuner::stop(int signal, const std::string& where) const {
  save();
  throw Interrupted(signal, fmt::format("{}: stopped by {} in fine-tuning, {}; finetune.pt written",
                                        dir_.path().string(), signal_name(signal), where));
}

void Finetuner::train_epoch() {
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = train_.x.size(0), epoch = state_.epoch + 1;
  // The order of this epoch, from the generator as it stood at the epoch's start.
  std::istringstream(state_.order_rng) >> rng_;
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  shuffle_indices(order, rng_);
  const auto perm = torch::tensor(order, torch::kInt64).to(device_);
  const int64_t steps = (n + spec_.batch_size - 1) / spec_.batch_size;
  const double lr = scheduled_lr(spec_.optimizer.lr, spec_.schedule, epoch - 1, spec_.epochs);
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);
  std::optional<profile::Scope> in_steps(std::in_place, profile::Phase::finetune_steps);
  for (int64_t step = state_.step; step < steps; ++step) {
    const auto idx = perm.slice(0, step * spec_.batch_size, std::min(n, (step + 1) * spec_.batch_size));
    count_step_products(mlp_, idx.size(0), spec_.mode == FinetuneMode::mlp);
    const auto x = train_.x.index_select(0, idx), y = train_.y.index_select(0, idx);
    torch::Tensor loss;
    if (fused_) {
      loss = fused_->compute_gradients(mlp_.hidden, mlp_.out_w, mlp_.out_b, x, y);
    } else {
      for (auto p : params_) p.mutable_grad() = torch::Tensor();
      loss = torch::nn::functional::cross_entropy(mlp_.logits(x), y);
      loss.backward({}, c10::nullopt, false, params_);
    }
    if (spec_.weight_decay > 0) {  // its gradient, 2 λ W, on the weight matrices being trained (not the biases)
      torch::NoGradGuard no_grad;
      for (auto& w : decayed_) w.mutable_grad().add_(w, 2 * spec_.weight_decay);
    }
    optimizer_->step();
    state_.loss_sum += loss.item<double>() * static_cast<double>(idx.size(0));
    count_step();
    if (const int signal = stop_requested(); signal != 0 && step + 1 < steps) {
      state_.step = step + 1;
      stop(signal, fmt::format("epoch {}/{} after step {}/{}", epoch, spec_.epochs, step + 1, steps));
    }
  }
  in_steps.reset();
  const double loss = state_.loss_sum / static_cast<double>(n);
  const double train_error = error_rate(mlp_, train_.x, train_.y), valid_error = error_rate(mlp_, valid_.x, valid_.y),
               test_error = error_rate(mlp_, test_.x, test_.y);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  state_.csv += fmt::format("{},{:.9g},{:.9g},{:.9g},{:.9g},{:.3f}\n", epoch, loss, train_error, valid_error, test_error, seconds);
  notify(observers_, fmt::format("finetune epoch {}/{}  loss {:.4f}  train error {:.4f}  valid error {:.4f}  {:.1f}s",
                                 epoch, spec_.epochs, loss, train_error, valid_error, seconds));
  auto& r = state_.result;
  r.epochs_run = epoch;
  if (valid_error < state_.best_valid) {
    state_.best_valid = valid_error;
    r = {train_error, valid_error, test_error, epoch, epoch, r.classes};
    state_.bad = 0;
    state_.best.clear();
    for (const auto& t : mlp_.all()) state_.best.push_back(t.detach().clone());
  } else if (spec_.patience > 0 && ++state_.bad >= spec_.patience) {
    state_.stopped_early = true;
  }
  state_.epoch = epoch;
  state_.step = 0;
  state_.loss_sum = 0;
  state_.order_rng = rng_text(rng_);
  dir_.write("finetune.csv", state_.csv);
  save();
  profile::epoch_done();
}

// test_predictions.csv: the best classifier's class for every test example, with the example's
// index in its source, so that runs can be compared example by example (McNemar's test in suite
// tables, orchestration/suite.cpp). Its errors are the test_error of summary.json.
void Finetuner::write_test_predictions(const Mlp& best) const {
  std::string csv = "index,label,prediction\n";
  if (test_.x.size(0) > 0) {
    const auto predicted = predict(best, test_.x).cpu().contiguous();
    const auto labels = test_.y.cpu().contiguous();
    const auto index = test_index_.defined() && test_index_.numel() == labels.numel()
                           ? test_index_.contiguous()
                           : torch::arange(labels.numel(), torch::kInt64);
    const auto *p = predicted.data_ptr<int64_t>(), *y = labels.data_ptr<int64_t>(), *k = index.data_ptr<int64_t>();
    for (int64_t i = 0; i < labels.numel(); ++i) csv += fmt::format("{},{},{}\n", k[i], y[i], p[i]);
  }
  dir_.write("test_predictions.csv", csv);
}

FinetuneResult Finetuner::run() {
  if (load()) {
    notify(observers_, state_.epoch >= spec_.epochs || state_.stopped_early
                           ? fmt::format("{}: fine-tuning finished before", dir_.path().string())
                           : fmt::format("{}: resuming fine-tuning after epoch {}{}", dir_.path().string(), state_.epoch,
                                         state_.step > 0 ? fmt::format(", step {}", state_.step) : ""));
  }
  while (state_.epoch < spec_.epochs && !state_.stopped_early) {
    train_epoch();
    if (const int signal = stop_requested(); signal != 0 && state_.epoch < spec_.epochs && !state_.stopped_early) {
      stop(signal, fmt::format("after epoch {}/{}", state_.epoch, spec_.epochs));
    }
  }
  // The classifier at its best validation epoch (the one whose test error is reported).
  Mlp best = mlp_;
  if (!state_.best.empty()) {
    const auto b = state_.best;
    size_t i = 0;
    for (auto& l : best.hidden) l.weight = b[i++], l.bias = b[i++];
    best.out_w = b[i++];
    best.out_b = b[i++];
  }
  {
    profile::Scope writing(profile::Phase::writes);
    save_classifier(best.hidden, best.out_w, best.out_b, dir_.file("classifier.pt"));
  }
  write_test_predictions(best);
  state_.result.step = step_name();
  return state_.result;
}

}  // namespace

FinetuneResult finetune(Encoder& pretrained, const Splits& splits, const FinetuneSpec& spec, uint64_t seed,
                        const torch::Device& device, const RunDirectory& dir, const Observers& observers) {
  return Finetuner(pretrained, splits, spec, seed, device, dir, observers).run();
}

nlohmann::json finetune_summary(const FinetuneSpec& spec, const FinetuneResult& r) {
  return {{"mode", to_string(spec.mode)}, {"best_epoch", r.best_epoch}, {"epochs_run", r.epochs_run},
          {"train_error", r.train_error}, {"classes", r.classes}, {"step", r.step}};
}

}  // namespace carve
