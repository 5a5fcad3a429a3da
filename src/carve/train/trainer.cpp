#include "carve/train/trainer.h"

#include "carve/train/finetune.h"
#include "carve/train/pretrainable.h"
#include "carve/train/run_dir.h"

#include <fmt/format.h>
#include <unistd.h>

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <mutex>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "carve/data/catalog.h"
#include "carve/data/file_bytes.h"
#include "carve/data/splits.h"
#include "carve/device.h"
#include "carve/error.h"
#include "carve/export/torchscript.h"
#include "carve/penalty/contractive.h"
#include "carve/penalty/higher_order.h"
#include "carve/penalty/jacobian.h"
#include "carve/version.h"
#include "models/autoencoder.h"

namespace carve {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kColumns{"epoch", "loss", "reconstruction", "weight_decay", "contractive",
                                        "higher_order", "sparsity", "valid_reconstruction",
                                        "jacobian_fro", "saturation", "pseudo_log_likelihood", "lr", "seconds"};

double scheduled_lr(const ExperimentSpec& s, int64_t epoch) {  // epoch counts from 0
  const double lr = s.optimizer.lr;
  const auto& c = s.schedule;
  if (c.type == ScheduleType::step) return lr * std::pow(c.gamma, static_cast<double>(epoch / c.step_epochs));
  if (c.type == ScheduleType::exponential) return lr * std::pow(c.gamma, static_cast<double>(epoch));
  if (c.type == ScheduleType::cosine) {
    const double t = static_cast<double>(epoch) / static_cast<double>(std::max<int64_t>(1, s.training.epochs - 1));
    return c.min_lr + (lr - c.min_lr) * 0.5 * (1 + std::cos(M_PI * t));
  }
  return lr;
}

torch::Tensor corrupt(const CorruptionSpec& c, const torch::Tensor& x) {
  if (c.type == CorruptionType::gaussian) return x + c.level * torch::randn_like(x);
  if (c.type == CorruptionType::masking) return x * (torch::rand_like(x) >= c.level).to(x.dtype());
  if (c.type == CorruptionType::salt_and_pepper) {
    const auto hit = torch::rand_like(x) < c.level;
    const auto salt = (torch::rand_like(x) < 0.5).to(x.dtype());
    return torch::where(hit, salt, x);
  }
  return x;
}

}  // namespace

std::pair<double, double> contraction_metrics(Encoder& encoder, const torch::Tensor& x, double tau) {
  torch::NoGradGuard no_grad;
  const auto layers = encoder.affine_layers();
  const auto outputs = encoder.encode_layers(x);
  torch::Tensor per_example;
  if (layers.size() == 1) {
    const auto d = derivative_from_output(layers[0].activation, outputs[0]);
    per_example = torch::mv(d * d, layers[0].weight.pow(2).sum(1));
  } else {
    per_example = analytic_jacobian(layers, outputs).pow(2).sum({1, 2});
  }
  const double fro = per_example.sqrt().mean().item<double>();
  double saturation = std::nan("");
  const auto act = layers.back().activation;
  const auto& h = outputs.back();
  if (act == Activation::sigmoid || act == Activation::tanh) {
    const auto u = act == Activation::tanh ? (h + 1) / 2 : h;
    saturation = ((u < tau) | (u > 1 - tau)).to(torch::kFloat64).mean().item<double>();
  }
  return {fro, saturation};
}

namespace {

struct Row {
  std::vector<double> v;  // in kColumns order
};

std::string csv(const std::vector<Row>& rows) {
  std::string out;
  for (size_t i = 0; i < kColumns.size(); ++i) out += (i ? "," : "") + kColumns[i];
  out += "\n";
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.v.size(); ++i) {
      out += (i ? "," : "") + (i == 0 ? std::to_string(static_cast<int64_t>(r.v[i])) : fmt::format("{:.9g}", r.v[i]));
    }
    out += "\n";
  }
  return out;
}

void progress_bar(int64_t epoch, int64_t epochs, int64_t step, int64_t steps, double elapsed,
                  const std::string& terms) {
  const int width = 24;
  const int filled = static_cast<int>(width * step / std::max<int64_t>(1, steps));
  const double eta = step > 0 ? elapsed * (steps - step) / step : 0;
  std::fprintf(stderr, "\r\033[2Kepoch %lld/%lld [%s%s] %3d%% ETA %4.0fs %s", static_cast<long long>(epoch),
               static_cast<long long>(epochs), std::string(filled, '=').c_str(),
               std::string(width - filled, ' ').c_str(), static_cast<int>(100 * step / std::max<int64_t>(1, steps)),
               eta, terms.c_str());
  std::fflush(stderr);
}

}  // namespace

void clear_gradients(const std::vector<torch::Tensor>& params) {
  for (auto p : params) p.mutable_grad() = torch::Tensor();
}

ContractivePenalty contractive_penalty(const ExperimentSpec& spec) {
  const auto& reg = spec.regularizers;
  return ContractivePenalty(ContractiveOptions()
                                .method(reg.contractive.method)
                                .projections(reg.contractive.projections)
                                .projection(reg.contractive.projection));
}

BatchLoss training_loss(AutoEncoderImpl& ae, const ExperimentSpec& spec, const ContractivePenalty& contractive,
                        const torch::Tensor& x) {
  const auto& reg = spec.regularizers;
  const auto xin = corrupt(spec.corruption, x);
  // One forward pass serves the reconstruction and the penalties.
  const auto pass = reg.contractive.weight > 0 ? contractive.make_pass(ae, xin) : EncoderPass::of(ae, xin);
  const auto& h = pass.code();
  const auto recon = ae.reconstruction_loss(x, h);  // the clean input is the target
  const auto zero = torch::zeros({}, recon.options());
  torch::Tensor wd = zero, cae = zero, cah = zero, sparse = zero;
  if (reg.weight_decay.weight > 0) {
    wd = ae.weight.pow(2).sum();
    if (!spec.model.tied) wd = wd + ae.decoder_weight.pow(2).sum();
  }
  if (reg.contractive.weight > 0) cae = contractive(ae, pass).value;
  if (reg.higher_order.weight > 0) {
    HigherOrderOptions options;
    options.sigma(reg.higher_order.sigma).corruptions(reg.higher_order.corruptions);
    cah = higher_order_penalty(ae, xin, options, &pass);
  }
  if (reg.sparsity.weight > 0) {
    if (reg.sparsity.kind == SparsityKind::l1) {
      sparse = h.abs().sum(1).mean();
    } else {
      // KL(rho || rho_hat_j) summed over hidden units, rho_hat_j the batch-mean activation.
      const double rho = reg.sparsity.target;
      const auto rho_hat = h.mean(0).clamp(1e-6, 1 - 1e-6);
      sparse = (rho * torch::log(rho / rho_hat) + (1 - rho) * torch::log((1 - rho) / (1 - rho_hat))).sum();
    }
  }
  // Only the terms in use enter the graph: each zero-weight term would cost two autograd nodes.
  auto loss = recon;
  for (auto [weight, term] : {std::pair{reg.weight_decay.weight, wd}, {reg.contractive.weight, cae},
                              {reg.higher_order.weight, cah}, {reg.sparsity.weight, sparse}}) {
    if (weight > 0) loss = loss + weight * term;
  }
  return {loss, torch::stack({recon, wd, cae, cah, sparse, loss}).detach().to(torch::kFloat64)};
}

std::string default_run_directory(const ExperimentSpec& spec) { return (fs::path("runs") / spec.name).string(); }

RunResult run_experiment(const ExperimentSpec& spec, const RunOptions& options, const Splits* given) {
  const auto start_time = std::chrono::steady_clock::now();
  const auto device = resolve_device(options.device.empty() ? spec.device : options.device);
  if (spec.threads > 0) torch::set_num_threads(static_cast<int>(spec.threads));

  // Everything that can fail on bad input happens before the run directory exists.
  const auto splits = given ? *given : load_run_splits(spec);
  const auto train_x = splits.train.flat().to(device);
  const auto valid_x = splits.valid.size() > 0 ? splits.valid.flat().to(device) : torch::Tensor();
  const auto metric_x = (valid_x.defined() ? valid_x : train_x).slice(0, 0, spec.training.metric_examples);
  const int64_t n = train_x.size(0), inputs = train_x.size(1);

  const fs::path dir = options.out.empty() ? default_run_directory(spec) : options.out;
  const fs::path checkpoint_path = dir / "checkpoint.pt";
  const std::string resolved = to_yaml(spec);
  if (fs::exists(dir)) {
    if (options.resume) {
      if (!fs::exists(checkpoint_path)) throw UsageError(fmt::format("{}: no checkpoint to resume from", dir.string()));
      check_resumable(dir.string(), spec, /*finished=*/false);
    } else if (options.force) {
      fs::remove_all(dir);
    } else {
      throw UsageError(fmt::format("{} exists: use --resume to continue it or --force to overwrite it", dir.string()));
    }
  } else if (options.resume) {
    throw UsageError(fmt::format("{}: nothing to resume (no such run directory)", dir.string()));
  }
  fs::create_directories(dir);
  data::write_text_file((dir / "config.yaml").string(), resolved);

  torch::manual_seed(spec.seed);
  const auto model = make_pretrainable(spec, inputs);
  model->module().to(device);
  const auto params = model->module().parameters();
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  if (spec.optimizer.type == OptimizerType::adam) {
    optimizer = std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(spec.optimizer.lr)
                    .betas({spec.optimizer.beta1, spec.optimizer.beta2})
                    .eps(spec.optimizer.eps));
  } else {
    optimizer = std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(spec.optimizer.lr)
                    .momentum(spec.optimizer.momentum)
                    .nesterov(spec.optimizer.nesterov));
  }

  // State that a checkpoint carries.
  int64_t first_epoch = 0, best_epoch = -1, bad_epochs = 0;
  double best_valid = std::numeric_limits<double>::infinity();
  std::vector<Row> history;
  std::vector<torch::Tensor> best_params;
  if (options.resume) {
    torch::serialize::InputArchive in;
    in.load_from(checkpoint_path.string());
    torch::serialize::InputArchive model_in, opt_in;
    in.read("model", model_in);
    model->module().load(model_in);
    model->load_state(in);
    in.read("optimizer", opt_in);
    optimizer->load(opt_in);
    torch::Tensor rng, scalars, rows, best;
    in.read("rng", rng);
    {
      auto generator = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(generator.mutex());
      generator.set_state(rng);
    }
    in.read("scalars", scalars);
    first_epoch = scalars[0].item<int64_t>();
    best_epoch = scalars[1].item<int64_t>();
    bad_epochs = scalars[2].item<int64_t>();
    in.read("best_valid", best);
    best_valid = best.item<double>();
    in.read("history", rows);
    for (int64_t i = 0; i < rows.size(0); ++i) {
      Row r;
      for (int64_t j = 0; j < rows.size(1); ++j) r.v.push_back(rows[i][j].item<double>());
      // Checkpoints written before the pseudo_log_likelihood column (0.x) have one column less.
      if (r.v.size() + 1 == kColumns.size()) r.v.insert(r.v.end() - 2, std::nan(""));
      TORCH_CHECK(r.v.size() == kColumns.size(), "checkpoint history has ", rows.size(1), " columns, expected ",
                  kColumns.size());
      history.push_back(r);
    }
    for (size_t i = 0; i < params.size(); ++i) {
      torch::Tensor t;
      if (in.try_read("best_" + std::to_string(i), t)) best_params.push_back(t.to(device));
    }
  }

  const int64_t batch = spec.training.batch_size;
  const int64_t steps = (n + batch - 1) / batch;
  const bool tty = options.progress && ::isatty(STDERR_FILENO);
  std::ofstream log(dir / "log.txt", std::ios::app);
  bool stopped_early = false;
  int64_t epoch = first_epoch;
  for (; epoch < spec.training.epochs; ++epoch) {
    if (options.stop_after_epochs > 0 && epoch - first_epoch >= options.stop_after_epochs) break;
    const auto epoch_start = std::chrono::steady_clock::now();
    const double lr = scheduled_lr(spec, epoch);
    for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
    const auto order_vec = shuffled_order(n, spec.seed * 1000003ULL + static_cast<uint64_t>(epoch));
    const auto order = torch::tensor(order_vec, torch::kInt64).to(device);
    // Sums of the terms over the epoch: reconstruction, wd, contractive, higher order, sparsity, loss.
    auto sums = torch::zeros({6}, torch::TensorOptions().dtype(torch::kFloat64).device(device));
    for (int64_t step = 0; step < steps; ++step) {
      const auto idx = order.slice(0, step * batch, std::min(n, (step + 1) * batch));
      const auto x = train_x.index_select(0, idx);
      const auto terms = model->compute_gradients(x);
      if (!torch::isfinite(terms).all().item<bool>()) {
        if (tty) std::fprintf(stderr, "\n");
        throw TrainingError(fmt::format(
            "epoch {}, step {}: the loss is {} (reconstruction {}, contractive {}); stopped, the last "
            "checkpoint ({}) is intact", epoch + 1, step + 1, terms[5].item<double>(), terms[0].item<double>(),
            terms[2].item<double>(), fs::exists(checkpoint_path) ? checkpoint_path.string() : "none yet"));
      }
      sums += terms.to(sums.device());
      optimizer->step();
      if (tty && (step % 10 == 0 || step + 1 == steps)) {
        const auto mean = (sums / static_cast<double>(step + 1)).cpu();
        progress_bar(epoch + 1, spec.training.epochs, step + 1, steps,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count(),
                     fmt::format("loss {:.4g} rec {:.4g}{}", mean[5].item<double>(), mean[0].item<double>(),
                                 spec.regularizers.contractive.weight > 0 ? fmt::format(" cae {:.4g}", mean[2].item<double>()) : ""));
      }
    }
    const auto mean = (sums / static_cast<double>(steps)).cpu();
    const double valid_recon = valid_x.defined() ? mean_reconstruction_error(*model, valid_x) : std::nan("");
    const auto [fro, saturation] = contraction_metrics(model->encoder(), metric_x, spec.training.saturation_threshold);
    // Its own generator per epoch: monitoring draws nothing from the training stream.
    const double pseudo_ll = model->pseudo_log_likelihood(valid_x.defined() ? valid_x : metric_x,
                                                          spec.seed * 1000003ULL + 7919ULL * static_cast<uint64_t>(epoch + 1));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    Row row{{static_cast<double>(epoch + 1), mean[5].item<double>(), mean[0].item<double>(), mean[1].item<double>(),
             mean[2].item<double>(), mean[3].item<double>(), mean[4].item<double>(), valid_recon, fro, saturation,
             pseudo_ll, lr, seconds}};
    history.push_back(row);

    // Early stopping on the validation reconstruction; the best weights are kept.
    const double score = valid_x.defined() ? valid_recon : row.v[2];
    if (score < best_valid - spec.training.min_delta) {
      best_valid = score;
      best_epoch = epoch + 1;
      bad_epochs = 0;
      best_params.clear();
      for (const auto& p : params) best_params.push_back(p.detach().clone());
    } else {
      ++bad_epochs;
    }
    stopped_early = spec.training.patience > 0 && bad_epochs >= spec.training.patience;

    data::write_text_file((dir / "metrics.csv").string(), csv(history));
    {
      torch::serialize::OutputArchive out, model_out, opt_out;
      model->module().save(model_out);
      model->save_state(out);
      optimizer->save(opt_out);
      out.write("model", model_out);
      out.write("optimizer", opt_out);
      out.write("rng", at::detail::getDefaultCPUGenerator().get_state());
      out.write("scalars", torch::tensor({epoch + 1, best_epoch, bad_epochs}, torch::kInt64));
      out.write("best_valid", torch::tensor(best_valid, torch::kFloat64));
      auto rows = torch::empty({static_cast<int64_t>(history.size()), static_cast<int64_t>(kColumns.size())}, torch::kFloat64);
      for (size_t i = 0; i < history.size(); ++i)
        for (size_t j = 0; j < kColumns.size(); ++j) rows[i][j] = history[i].v[j];
      out.write("history", rows);
      for (size_t i = 0; i < best_params.size(); ++i) out.write("best_" + std::to_string(i), best_params[i].cpu());
      out.save_to((dir / "checkpoint.pt.tmp").string());
      fs::rename(dir / "checkpoint.pt.tmp", checkpoint_path);
    }
    const std::string line = fmt::format(
        "epoch {}/{}  loss {:.5g}  reconstruction {:.5g}  valid {:.5g}  |J|_F {:.4g}  saturation {:.3f}  lr {:.3g}  {:.1f}s",
        epoch + 1, spec.training.epochs, row.v[1], row.v[2], valid_recon, fro, saturation, lr, seconds);
    log << line << "\n";
    log.flush();
    if (tty) std::fprintf(stderr, "\r\033[2K");
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    if (stopped_early) {
      ++epoch;
      break;
    }
  }

  const bool finished = epoch >= spec.training.epochs || stopped_early;
  RunResult result{dir.string(), {}};
  if (!finished) return result;  // interrupted on purpose (tests): the checkpoint is the state

  // The exported encoder and the summary describe the best epoch.
  if (!best_params.empty()) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(best_params[i]);
  }
  model->save_encoder((dir / "encoder.pt").string());
  const auto [fro, saturation] = contraction_metrics(model->encoder(), metric_x, spec.training.saturation_threshold);
  nlohmann::json s;
  s["name"] = spec.name;
  s["carve_version"] = version();
  s["command_line"] = options.command_line;
  s["device"] = device.str();
  s["threads"] = torch::get_num_threads();
  s["epochs_run"] = history.size();
  s["stopped_early"] = stopped_early;
  s["best_epoch"] = best_epoch;
  s["examples"] = {{"train", splits.train.size()}, {"valid", splits.valid.size()}, {"test", splits.test.size()}};
  nlohmann::json last;
  for (size_t j = 1; j < kColumns.size(); ++j) {
    const double v = history.back().v[j];
    last[kColumns[j]] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
  }
  s["final"] = last;
  const auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
  s["best"] = {{"valid_reconstruction", number(valid_x.defined() ? best_valid : std::nan(""))},
               {"jacobian_fro_mean", number(fro)},
               {"saturation", number(saturation)}};
  if (splits.test.size() > 0) {
    torch::NoGradGuard no_grad;
    const auto test_x = splits.test.flat().to(device);
    s["best"]["test_reconstruction"] = mean_reconstruction_error(*model, test_x);
    const auto extra = model->final_metrics(test_x);  // named: items() would dangle on a temporary
    for (const auto& [k, v] : extra.items()) s["best"][k] = v;
  }
  // The paper's Table 1 metrics at the top level: the pretrained encoder's mean Jacobian norm and
  // saturation over the test split (before fine-tuning), then the fine-tuned errors.
  {
    const auto& eval = splits.test.size() > 0 ? splits.test : splits.valid.size() > 0 ? splits.valid : splits.train;
    const auto eval_x = eval.flat().to(device);
    const auto [test_fro, test_sat] = contraction_metrics(model->encoder(), eval_x, spec.training.saturation_threshold);
    s["jacobian_fro_mean"] = number(test_fro);
    s["saturation"] = number(test_sat);
    s["reconstruction_error"] = number(model->reconstruction_error(eval_x));
    s["metrics_split"] = splits.test.size() > 0 ? "test" : splits.valid.size() > 0 ? "valid" : "train";
    if (s["best"].contains("log_likelihood")) s["log_likelihood"] = s["best"]["log_likelihood"];
  }
  if (spec.finetune.enabled) {
    const auto f = finetune(model->encoder(), splits, spec.finetune, spec.seed, device, (dir / "finetune.csv").string());
    s["test_error"] = number(f.test_error);
    s["valid_error"] = number(f.valid_error);
    s["finetune"] = {{"mode", to_string(spec.finetune.mode)}, {"best_epoch", f.best_epoch}, {"epochs_run", f.epochs_run},
                     {"train_error", f.train_error}, {"classes", f.classes}};
  }
  s["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  data::write_text_file((dir / "summary.json").string(), s.dump(2) + "\n");
  result.summary = s;
  return result;
}

}  // namespace carve
