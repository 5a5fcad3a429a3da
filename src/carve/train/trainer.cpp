// One run, as single-purpose steps: data, run directory, model and optimizer (or a checkpoint),
// the epoch loop reporting to observers, and the summary.
#include "carve/train/trainer.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <optional>

#include "carve/csv.h"
#include "carve/data/splits.h"
#include "carve/device.h"
#include "carve/error.h"
#include "carve/profile.h"
#include "carve/train/checkpoint.h"
#include "carve/train/finetune.h"
#include "carve/train/memory.h"
#include "carve/train/optimizer.h"
#include "carve/train/pretrainable.h"
#include "carve/train/run_dir.h"
#include "carve/train/run_directory.h"
#include "carve/train/stop.h"
#include "carve/version.h"

namespace carve {

const std::vector<std::pair<std::string, double EpochRecord::*>>& epoch_columns() {
  static const std::vector<std::pair<std::string, double EpochRecord::*>> columns{
      {"loss", &EpochRecord::loss},
      {"reconstruction", &EpochRecord::reconstruction},
      {"weight_decay", &EpochRecord::weight_decay},
      {"contractive", &EpochRecord::contractive},
      {"higher_order", &EpochRecord::higher_order},
      {"sparsity", &EpochRecord::sparsity},
      {"valid_reconstruction", &EpochRecord::valid_reconstruction},
      {"jacobian_fro", &EpochRecord::jacobian_fro},
      {"saturation", &EpochRecord::saturation},
      {"pseudo_log_likelihood", &EpochRecord::pseudo_log_likelihood},
      {"lr", &EpochRecord::lr},
      {"seconds", &EpochRecord::seconds}};
  return columns;
}

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// The forward products of monitoring, for carve::profile (carve bench run): `rows` examples
// through the encoder, and back through the decoder for a reconstruction.
void count_encoding(Encoder& encoder, profile::Phase phase, int64_t rows) {
  if (profile::enabled()) count_forward(phase, "encode (monitoring)", encoder.affine_layers(), rows);
}
void count_reconstruction(Pretrainable& model, profile::Phase phase, int64_t rows) {
  if (!profile::enabled()) return;
  count_encoding(model.encoder(), phase, rows);
  count_forward(phase, "decode (monitoring)", model.decoder_layers(), rows);
}
nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

// The tensors a run trains and monitors on, on its device.
struct RunData {
  Splits splits;
  torch::Tensor train_x, valid_x, metric_x;
};

RunData load_data(const ExperimentSpec& spec, const Splits* given, const torch::Device& device, const Observers& observers) {
  profile::Scope loading(profile::Phase::data_loading);
  RunData d{given ? *given : load_run_splits(spec, [&](const std::string& line) { notify(observers, line); }), {}, {}, {}};
  d.train_x = d.splits.train.flat().to(device);
  if (d.splits.valid.size() > 0) d.valid_x = d.splits.valid.flat().to(device);
  d.metric_x = (d.valid_x.defined() ? d.valid_x : d.train_x).slice(0, 0, spec.training.metric_examples);
  return d;
}

std::string metrics_csv(const std::vector<EpochRecord>& history) {
  std::string out = "epoch";
  for (const auto& [name, field] : epoch_columns()) out += "," + name;
  out += "\n";
  for (const auto& r : history) {
    out += std::to_string(r.epoch);
    for (const auto& [name, field] : epoch_columns()) out += fmt::format(",{:.9g}", r.*field);
    out += "\n";
  }
  return out;
}

// The history as the checkpoint stores it, and back (columns matched by name: a column that an
// older checkpoint lacks reads as NaN).
torch::Tensor history_tensor(const std::vector<EpochRecord>& history) {
  const auto& cols = epoch_columns();
  auto t = torch::empty({static_cast<int64_t>(history.size()), static_cast<int64_t>(cols.size()) + 1}, torch::kFloat64);
  auto a = t.accessor<double, 2>();
  for (size_t i = 0; i < history.size(); ++i) {
    a[i][0] = static_cast<double>(history[i].epoch);
    for (size_t j = 0; j < cols.size(); ++j) a[i][j + 1] = history[i].*(cols[j].second);
  }
  return t;
}
std::vector<EpochRecord> history_records(const Checkpoint& c) {
  std::vector<EpochRecord> out;
  const auto t = c.history.contiguous();
  for (int64_t i = 0; i < t.size(0); ++i) {
    EpochRecord r;
    for (const auto& [name, field] : epoch_columns()) r.*field = std::nan("");
    for (size_t j = 0; j < c.columns.size(); ++j) {
      const double v = t[i][static_cast<int64_t>(j)].item<double>();
      if (c.columns[j] == "epoch") r.epoch = static_cast<int64_t>(v);
      for (const auto& [name, field] : epoch_columns())
        if (name == c.columns[j]) r.*field = v;
    }
    out.push_back(r);
  }
  return out;
}

std::vector<std::string> checkpoint_columns() {
  std::vector<std::string> names{"epoch"};
  for (const auto& [name, field] : epoch_columns()) names.push_back(name);
  return names;
}

class Trainer {
 public:
  Trainer(const ExperimentSpec& spec, const RunOptions& options, const Splits* given)
      : spec_(spec),
        options_(options),
        device_(resolve_device(options.device.empty() ? spec.device : options.device)),
        data_((apply_threads(), load_data(spec, given, device_, options.observers))) {}

  RunResult run();

 private:
  void apply_threads() const {
    if (spec_.threads > 0) torch::set_num_threads(static_cast<int>(spec_.threads));
  }
  void build();
  EpochRecord train_epoch(int64_t epoch);
  [[noreturn]] void stop_mid_epoch(int64_t epoch, int64_t step, int64_t steps, const torch::Tensor& sums, int signal);
  void end_epoch(const EpochRecord& record);
  void stop_if_requested() const;
  void record_standardization() const;
  nlohmann::json summarize(bool stopped_early);
  nlohmann::json summarize_test(nlohmann::json s);

  ExperimentSpec spec_;
  RunOptions options_;
  torch::Device device_;
  RunData data_;
  std::optional<RunDirectory> dir_;
  std::unique_ptr<Pretrainable> model_;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  Checkpoint state_;  // early stopping, best weights, position
  std::vector<EpochRecord> history_;
};

// standardization.csv holds the statistics of data.standardize (what the encoder's inputs must be
// shifted and scaled by); a Gaussian-visible RBM on data that is not standardized gets a warning.
void Trainer::record_standardization() const {
  const auto& splits = data_.splits;
  if (splits.mean.defined()) {
    std::string csv = csv_row({"input", "mean", "std"});
    const auto mean = splits.mean.accessor<double, 1>(), std = splits.std.accessor<double, 1>();
    for (int64_t i = 0; i < splits.mean.size(0); ++i) {
      csv += csv_row({std::to_string(i), fmt::format("{:.17g}", mean[i]), fmt::format("{:.17g}", std[i])});
    }
    dir_->write("standardization.csv", csv);
  }
  if (spec_.model.type != ModelType::rbm || spec_.model.visible_units != VisibleUnits::gaussian) return;
  const auto x = data_.train_x.to(torch::kFloat64);
  const auto sd = x.std(0, false);
  const bool standard = (x.mean(0).abs() < 0.1).all().item<bool>() &&
                        ((sd - 1).abs() < 0.1).logical_or(sd < 1e-8).all().item<bool>();
  if (!standard) {
    notify(options_.observers,
           fmt::format("warning: {}: model.visible_units: gaussian assumes inputs of zero mean and unit variance, and "
                       "these are not (set data.standardize: true)",
                       spec_.file));
  }
}

// Everything that can fail on bad input happened before the run directory exists.
void Trainer::build() {
  const auto path = options_.out.empty() ? default_run_directory(spec_) : options_.out;
  check_run_fits(spec_, data_.train_x.size(1), data_.train_x.size(0), device_);
  dir_ = RunDirectory::open_run(path, RunDirectory::mode(options_.resume, options_.force), "checkpoint.pt");
  // Before config.yaml is replaced: a run continues, or starts afresh in place, only where the
  // directory holds the same experiment.
  if (options_.resume && (dir_->resuming() || dir_->has("config.yaml"))) check_resumable(path, spec_, /*finished=*/false);
  // The data files it reads, with their SHA-256: a resume on other data is refused. config.yaml,
  // what marks the directory as this experiment's, is written first.
  const auto data = [&] {
    profile::Scope loading(profile::Phase::data_loading);  // the files' SHA-256 (memoized per process)
    return data_.splits.files.empty() ? nlohmann::json() : data_record(spec_.data.dataset, data_.splits.files);
  }();
  if (options_.resume && !data.is_null()) check_same_data(path, data);
  dir_->write("config.yaml", to_yaml(spec_));
  if (!data.is_null()) dir_->write_json("data.json", data);
  // Which examples the run used (docs/CONFIG.md, the run directory).
  if (const auto csv = splits_csv(data_.splits); !csv.empty()) dir_->write("splits.csv", csv);
  record_standardization();
  if (options_.resume && !dir_->resuming()) {
    notify(options_.observers, fmt::format("{}: stopped before its first checkpoint: starting it afresh", path));
  }

  torch::manual_seed(spec_.seed);
  model_ = make_pretrainable(spec_, data_.train_x.size(1));
  model_->module().to(device_);
  params_ = model_->module().parameters();
  optimizer_ = make_optimizer(spec_.optimizer, params_);
  if (dir_->resuming()) {
    auto opened = open_checkpoint_to_resume(*dir_, "checkpoint.pt",
                                            [this](const std::string& line) { notify(options_.observers, line); });
    state_ = load_checkpoint(opened, *model_, *optimizer_);
    // A resumed run keeps the step it started with (training.step: auto may resolve otherwise in
    // another version of carve, or the file may now name another).
    if (!state_.training_step.empty() && state_.training_step != model_->step()) {
      notify(options_.observers, fmt::format("{}: keeping the {} step the run started with (training.step now gives {})",
                                             path, state_.training_step, model_->step()));
      model_->use_step(state_.training_step);
    }
    history_ = history_records(state_);
    for (auto& p : state_.best_params) p = p.to(device_);
    notify(options_.observers,
           state_.step > 0 ? fmt::format("{}: resuming in epoch {}, after step {}", path, state_.epoch + 1, state_.step)
                           : fmt::format("{}: resuming after epoch {}", path, state_.epoch));
  }
}

EpochRecord Trainer::train_epoch(int64_t epoch) {
  const auto start = Clock::now();
  const double lr = scheduled_lr(spec_, epoch);
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);
  const int64_t n = data_.train_x.size(0), batch = spec_.training.batch_size, steps = (n + batch - 1) / batch;
  const auto order = torch::tensor(shuffled_order(n, spec_.seed * 1000003ULL + static_cast<uint64_t>(epoch)),
                                   torch::kInt64).to(device_);
  auto sums = torch::zeros({kTerms}, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
  int64_t first = 0;
  if (state_.step > 0) {  // resumed mid-epoch: the same order, from the batch it stopped before
    first = state_.step;
    sums = state_.running_sums.to(sums.options());
    state_.step = 0;
    state_.running_sums = torch::Tensor();
  }
  bool wants_steps = false;
  for (const auto& o : options_.observers) wants_steps = wants_steps || o->wants_steps();
  std::optional<profile::Scope> in_steps(std::in_place, profile::Phase::pretraining_steps);
  for (int64_t step = first; step < steps; ++step) {
    const auto idx = order.slice(0, step * batch, std::min(n, (step + 1) * batch));
    model_->count_step_products(idx.size(0));
    const auto terms = model_->compute_gradients(data_.train_x.index_select(0, idx));
    if (!torch::isfinite(terms).all().item<bool>()) {
      throw TrainingError(fmt::format(
          "epoch {}, step {}: the loss is {} (reconstruction {}, contractive {}); stopped, the last "
          "checkpoint ({}) is intact", epoch + 1, step + 1, terms[index(Term::loss)].item<double>(),
          terms[index(Term::reconstruction)].item<double>(), terms[index(Term::contractive)].item<double>(),
          dir_->has("checkpoint.pt") ? dir_->file("checkpoint.pt") : "none yet"));
    }
    sums += terms.to(sums.device());
    optimizer_->step();
    count_step();
    if (const int signal = stop_requested(); signal != 0 && step + 1 < steps) {
      stop_mid_epoch(epoch, step + 1, steps, sums, signal);  // at the epoch's end, end_epoch checkpoints
    }
    if (wants_steps && (step % 10 == 0 || step + 1 == steps)) {
      const auto mean = (sums / static_cast<double>(step + 1)).cpu();
      const StepProgress p{epoch + 1, spec_.training.epochs, step + 1, steps, since(start),
                           mean[index(Term::loss)].item<double>(), mean[index(Term::reconstruction)].item<double>(),
                           mean[index(Term::contractive)].item<double>(), spec_.regularizers.contractive.weight > 0,
                           model_->reconstruction_in_step()};
      for (const auto& o : options_.observers) o->on_step(p);
    }
  }
  in_steps.reset();
  profile::Scope in_metrics(profile::Phase::epoch_metrics);
  const auto mean = (sums / static_cast<double>(steps)).cpu();
  EpochRecord r;
  r.epoch = epoch + 1;
  r.loss = mean[index(Term::loss)].item<double>();
  r.reconstruction = mean[index(Term::reconstruction)].item<double>();
  r.weight_decay = mean[index(Term::weight_decay)].item<double>();
  r.contractive = mean[index(Term::contractive)].item<double>();
  r.higher_order = mean[index(Term::higher_order)].item<double>();
  r.sparsity = mean[index(Term::sparsity)].item<double>();
  if (!model_->reconstruction_in_step()) {  // measured here, off the step's hot path
    count_reconstruction(*model_, profile::Phase::epoch_metrics, std::min(n, spec_.training.metric_examples));
    r.reconstruction = mean_reconstruction_error(*model_, data_.train_x.slice(0, 0, spec_.training.metric_examples));
    r.loss += r.reconstruction;
  }
  if (data_.valid_x.defined()) count_reconstruction(*model_, profile::Phase::epoch_metrics, data_.valid_x.size(0));
  r.valid_reconstruction = data_.valid_x.defined() ? mean_reconstruction_error(*model_, data_.valid_x) : std::nan("");
  count_encoding(model_->encoder(), profile::Phase::epoch_metrics, data_.metric_x.size(0));
  std::tie(r.jacobian_fro, r.saturation) =
      contraction_metrics(model_->encoder(), data_.metric_x, spec_.training.saturation_threshold);
  // Its own generator per epoch: monitoring draws nothing from the training stream.
  r.pseudo_log_likelihood = model_->pseudo_log_likelihood(data_.valid_x.defined() ? data_.valid_x : data_.metric_x,
                                                          spec_.seed * 1000003ULL + 7919ULL * static_cast<uint64_t>(epoch + 1));
  r.lr = lr;
  r.seconds = since(start);
  return r;
}

void Trainer::stop_mid_epoch(int64_t epoch, int64_t step, int64_t steps, const torch::Tensor& sums, int signal) {
  state_.step = step;
  state_.running_sums = sums.cpu();
  state_.columns = checkpoint_columns();
  state_.history = history_tensor(history_);
  state_.training_step = model_->step();
  save_checkpoint(*dir_, state_, *model_, *optimizer_);
  const auto what = fmt::format("{}: stopped by {} in epoch {}/{} after step {}/{}; checkpoint written",
                                dir_->path().string(), signal_name(signal), epoch + 1, spec_.training.epochs, step, steps);
  dir_->append("log.txt", what + "\n");
  throw Interrupted(signal, what);
}

void Trainer::stop_if_requested() const {
  const int signal = stop_requested();
  if (signal == 0) return;
  const auto what = fmt::format("{}: stopped by {} after epoch {}/{}; checkpoint written", dir_->path().string(),
                                signal_name(signal), state_.epoch, spec_.training.epochs);
  dir_->append("log.txt", what + "\n");
  throw Interrupted(signal, what);
}

// Early stopping on the validation reconstruction (the best weights are kept), then every
// per-epoch output: metrics.csv, the checkpoint, log.txt and the observers.
void Trainer::end_epoch(const EpochRecord& r) {
  history_.push_back(r);
  const double score = data_.valid_x.defined() ? r.valid_reconstruction : r.reconstruction;
  if (score < state_.best_valid - spec_.training.min_delta) {
    state_.best_valid = score;
    state_.best_epoch = r.epoch;
    state_.bad_epochs = 0;
    state_.best_params.clear();
    for (const auto& p : params_) state_.best_params.push_back(p.detach().clone());
  } else {
    ++state_.bad_epochs;
  }
  state_.epoch = r.epoch;
  profile::Scope writing(profile::Phase::writes);
  dir_->write("metrics.csv", metrics_csv(history_));
  state_.columns = checkpoint_columns();
  state_.history = history_tensor(history_);
  state_.training_step = model_->step();
  save_checkpoint(*dir_, state_, *model_, *optimizer_);
  const std::string line = fmt::format(
      "epoch {}/{}  loss {:.5g}  reconstruction {:.5g}  valid {:.5g}  |J|_F {:.4g}  saturation {:.3f}  lr {:.3g}  {:.1f}s",
      r.epoch, spec_.training.epochs, r.loss, r.reconstruction, r.valid_reconstruction, r.jacobian_fro, r.saturation,
      r.lr, r.seconds);
  dir_->append("log.txt", line + "\n");
  for (const auto& o : options_.observers) o->on_epoch(r, line);
  profile::epoch_done();
}

RunResult Trainer::run() {
  const auto start = Clock::now();
  build();
  // A run that stopped early stays stopped when resumed (with more epochs, say).
  const auto stopping = [this] { return spec_.training.patience > 0 && state_.bad_epochs >= spec_.training.patience; };
  bool stopped_early = stopping();
  for (int64_t epoch = state_.epoch; epoch < spec_.training.epochs && !stopped_early; ++epoch) {
    end_epoch(train_epoch(epoch));
    stopped_early = stopping();
    if (epoch + 1 < spec_.training.epochs && !stopped_early) stop_if_requested();
  }
  RunResult result{dir_->path().string(), {}};
  auto s = summarize(stopped_early);
  s["seconds"] = since(start);
  dir_->write_json("summary.json", s);
  result.summary = s;
  return result;
}

// The exported encoder and the summary describe the best epoch.
nlohmann::json Trainer::summarize(bool stopped_early) {
  if (!state_.best_params.empty()) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params_.size(); ++i) params_[i].copy_(state_.best_params[i]);
  }
  {
    profile::Scope writing(profile::Phase::writes);
    model_->save_encoder(dir_->file("encoder.pt"));
  }
  profile::Scope evaluating(profile::Phase::evaluation);
  count_encoding(model_->encoder(), profile::Phase::evaluation, data_.metric_x.size(0));
  const auto [fro, saturation] = contraction_metrics(model_->encoder(), data_.metric_x, spec_.training.saturation_threshold);
  const auto& splits = data_.splits;
  nlohmann::json s;
  s["name"] = spec_.name;
  s["carve_version"] = version();
  s["command_line"] = options_.command_line;
  s["device"] = device_.str();
  s["threads"] = torch::get_num_threads();
  s["step"] = model_->step();  // training.step resolved, or the checkpoint's on resume
  s["epochs_run"] = history_.size();
  s["stopped_early"] = stopped_early;
  s["best_epoch"] = state_.best_epoch;
  s["examples"] = {{"train", splits.train.size()}, {"valid", splits.valid.size()}, {"test", splits.test.size()}};
  nlohmann::json last;
  for (const auto& [name, field] : epoch_columns()) last[name] = number(history_.back().*field);
  s["final"] = last;
  s["best"] = {{"valid_reconstruction", number(data_.valid_x.defined() ? state_.best_valid : std::nan(""))},
               {"jacobian_fro_mean", number(fro)},
               {"saturation", number(saturation)}};
  return summarize_test(s);
}

// Test metrics, the paper's Table 1 metrics at the top level (the pretrained encoder's mean
// Jacobian norm and saturation over the test split, before fine-tuning), then fine-tuning.
nlohmann::json Trainer::summarize_test(nlohmann::json s) {
  const auto& splits = data_.splits;
  if (splits.test.size() > 0) {
    torch::NoGradGuard no_grad;
    const auto test_x = splits.test.flat().to(device_);
    count_reconstruction(*model_, profile::Phase::evaluation, test_x.size(0));
    s["best"]["test_reconstruction"] = mean_reconstruction_error(*model_, test_x);
    const auto extra = model_->final_metrics(test_x);  // named: items() would dangle on a temporary
    for (const auto& [k, v] : extra.items()) s["best"][k] = v;
  }
  const auto& eval = splits.test.size() > 0 ? splits.test : splits.valid.size() > 0 ? splits.valid : splits.train;
  const auto eval_x = eval.flat().to(device_);
  count_encoding(model_->encoder(), profile::Phase::evaluation, eval_x.size(0));
  const auto measures = contraction_measures(model_->encoder(), eval_x);
  const auto [fro, sat] = contraction_metrics(measures, spec_.training.saturation_threshold);
  s["jacobian_fro_mean"] = number(fro);
  s["saturation"] = number(sat);
  s["paper_units"] = paper_units(measures, model_->encoder().input_size());
  s["reconstruction_error"] = number(model_->reconstruction_error(eval_x));
  s["metrics_split"] = splits.test.size() > 0 ? "test" : splits.valid.size() > 0 ? "valid" : "train";
  if (s["best"].contains("log_likelihood")) s["log_likelihood"] = s["best"]["log_likelihood"];
  if (spec_.finetune.enabled) {
    const auto f = finetune(model_->encoder(), splits, spec_.finetune, spec_.seed, device_, *dir_, options_.observers);
    s["test_error"] = number(f.test_error);
    s["valid_error"] = number(f.valid_error);
    s["finetune"] = finetune_summary(spec_.finetune, f);
  }
  return s;
}

}  // namespace

RunResult run_experiment(const ExperimentSpec& spec, const RunOptions& options, const Splits* splits) {
  return Trainer(spec, options, splits).run();
}

}  // namespace carve
