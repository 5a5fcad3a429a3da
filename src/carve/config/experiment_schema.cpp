// Every key of an experiment file, declared once: this table reads the file, writes the resolved
// configuration, prints docs/CONFIG.md's key tables and decides what --resume accepts.
// Adding a key to a regularizer is one line here plus its use in the loss.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "carve/config/experiment.h"
#include "carve/config/experiment_schema.h"
#include "carve/config/suite.h"
#include "carve/data/catalog.h"

namespace carve {

std::string to_string(ModelType v) { return v == ModelType::rbm ? "rbm" : "autoencoder"; }
std::string to_string(CorruptionType v) {
  switch (v) {
    case CorruptionType::none: return "none";
    case CorruptionType::gaussian: return "gaussian";
    case CorruptionType::masking: return "masking";
    case CorruptionType::salt_and_pepper: return "salt_and_pepper";
  }
  return "?";
}
std::string to_string(OptimizerType v) { return v == OptimizerType::adam ? "adam" : "sgd"; }
std::string to_string(ScheduleType v) {
  switch (v) {
    case ScheduleType::constant: return "constant";
    case ScheduleType::step: return "step";
    case ScheduleType::exponential: return "exponential";
    case ScheduleType::cosine: return "cosine";
  }
  return "?";
}
std::string to_string(TrainingStep v) {
  switch (v) {
    case TrainingStep::automatic: return "auto";
    case TrainingStep::fused: return "fused";
    case TrainingStep::autograd: return "autograd";
  }
  return "?";
}
std::string to_string(SparsityKind v) { return v == SparsityKind::l1 ? "l1" : "kl"; }
std::string to_string(FinetuneMode v) { return v == FinetuneMode::linear_probe ? "linear_probe" : "mlp"; }

namespace config {

namespace {

using Resume = config::Resume;
template <typename S>
using TablePtr = std::shared_ptr<Table<S>>;

// Paths named by a dataset spec, for the up-front existence check.
std::vector<std::string> dataset_paths(const std::string& spec) {
  for (const char* prefix : {"idx:", "amat:", "cifar10-bw:", "cifar10:"}) {
    const std::string p(prefix);
    if (spec.rfind(p, 0) != 0) continue;
    std::vector<std::string> out;
    std::stringstream ss(spec.substr(p.size()));
    for (std::string part; std::getline(ss, part, ',');) out.push_back(part);
    return out;
  }
  return {spec};
}

Range<std::string> dataset_range() {
  return {"a name or a path", [](const std::string& v) -> std::optional<std::string> {
            const auto& names = dataset_names();
            if (std::find(names.begin(), names.end(), v) != names.end()) return std::nullopt;
            const bool looks_like_path = v.find_first_of(":/.") != std::string::npos;
            if (!looks_like_path) {
              const auto hint = closest(v, names);
              return fmt::format("unknown dataset '{}' (known: {}, or idx:/amat:/cifar10: paths){}", v,
                                 fmt::join(names, ", "), hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint));
            }
            return std::nullopt;  // paths are resolved and checked against the file (resolve_data_paths)
          }};
}

TablePtr<DataSpec> data_table() {
  auto t = std::make_shared<Table<DataSpec>>("data", "What is trained on and how it is split (docs/DATA.md).");
  t->required("dataset", &DataSpec::dataset, dataset_range(),
              fmt::format("{}, or `idx:IMAGES[,LABELS[,TEST_IMAGES[,TEST_LABELS]]]`, `amat:TRAIN[,TEST]`, "
                          "`cifar10-bw:DIR`, `cifar10:DIR` (docs/DATA.md); relative paths are found beside the "
                          "experiment file (else in the working directory) and must exist",
                          [] {
                            std::string s;
                            for (const auto& n : dataset_names()) s += (s.empty() ? "`" : ", `") + n + "`";
                            return s;
                          }()));
  t->key("dir", &DataSpec::dir, std::string(),
         {"an existing directory",
          [](const std::string& v) -> std::optional<std::string> {
            std::error_code ec;  // a name too long for the system is "no such directory", not an exception
            if (v.empty() || std::filesystem::is_directory(v, ec)) return std::nullopt;
            return fmt::format("no such directory: {}", v);
          }},
         "data directory; `\"\"` means `$CARVE_DATA_DIR`, else `data/` of carve's shared files (the checkout's, "
         "or `PREFIX/share/carve/data` installed)", Resume::free);
  t->key("train", &DataSpec::train, int64_t{0}, non_negative<int64_t>(),
         "keep the first N training examples (0: all)");
  t->key("valid", &DataSpec::valid, int64_t{0}, non_negative<int64_t>(),
         "validation examples, the last of the shuffled training pool");
  t->key("test", &DataSpec::test, int64_t{0}, non_negative<int64_t>(),
         "test examples: the first N of the source's test split, or carved from the pool when the source has none "
         "(0: all of the source's, or none)");
  t->key("shuffle", &DataSpec::shuffle, true, any<bool>(),
         "shuffle the pool with `seed` before splitting; false keeps file order (the variations protocol: the last "
         "lines of a `_train.amat` are the validation set)");
  t->key("stratify", &DataSpec::stratify, false, any<bool>(), "keep class proportions in every split");
  t->key("standardize", &DataSpec::standardize, false, any<bool>(),
         "shift and scale every input to zero mean and unit variance, with the statistics of the training split "
         "(recorded in standardization.csv) applied to every split: what Gaussian-visible RBMs expect");
  return t;
}

bool is_rbm(const ModelSpec& m) { return m.type == ModelType::rbm; }

TablePtr<ModelSpec> model_table() {
  auto t = std::make_shared<Table<ModelSpec>>(
      "model", "The auto-encoder (one hidden layer) or the RBM. Keys of the other model type are accepted and ignored.");
  const auto not_rbm = [](const ModelSpec& m) { return !is_rbm(m); };
  t->choice("type", &ModelSpec::type, ModelType::autoencoder, {ModelType::autoencoder, ModelType::rbm}, "the model");
  t->key("hidden", &ModelSpec::hidden, int64_t{1000}, positive<int64_t>(), "hidden units");
  std::vector<Activation> activations;
  for (const auto& n : activation_names()) activations.push_back(parse_activation(n));
  t->choice("activation", &ModelSpec::activation, Activation::sigmoid, activations, "encoder activation")
      .only_if(not_rbm);
  t->choice("decoder_activation", &ModelSpec::decoder_activation, Activation::sigmoid,
            {Activation::sigmoid, Activation::linear}, "decoder activation")
      .only_if(not_rbm);
  t->key("tied", &ModelSpec::tied, true, any<bool>(), "decoder weight = encoder weightᵀ").only_if(not_rbm);
  t->choice_with<ReconstructionLoss>(
       "loss", &ModelSpec::loss,
       [](const ModelSpec& m) {
         return m.decoder_activation == Activation::sigmoid ? ReconstructionLoss::cross_entropy
                                                            : ReconstructionLoss::squared_error;
       },
       "`cross_entropy` with a sigmoid decoder, else `squared_error`",
       {ReconstructionLoss::cross_entropy, ReconstructionLoss::squared_error},
       "reconstruction loss, summed over inputs, mean over the batch; `cross_entropy` needs a sigmoid decoder")
      .only_if(not_rbm);
  t->choice("visible_units", &ModelSpec::visible_units, VisibleUnits::binary,
            {VisibleUnits::binary, VisibleUnits::gaussian},
            "RBM: Gaussian visible units have unit variance: standardize the data")
      .only_if(is_rbm);
  t->key("cd_k", &ModelSpec::cd_k, int64_t{1}, positive<int64_t>(), "RBM: Gibbs steps of contrastive divergence")
      .only_if(is_rbm);
  t->key("persistent", &ModelSpec::persistent, false, any<bool>(),
         "RBM: PCD, the negative chains persist across batches (and checkpoints)")
      .only_if(is_rbm);
  t->key("chains", &ModelSpec::chains, int64_t{0}, non_negative<int64_t>(),
         "RBM: PCD chains (0: one per example of a batch)")
      .only_if(is_rbm);
  t->key("ais_runs", &ModelSpec::ais_runs, int64_t{100}, at_least<int64_t>(2),
         "RBM: AIS runs for the test log-likelihood of an RBM with more than 20 hidden units (≤ 20: exact)")
      .only_if(is_rbm);
  t->key("ais_betas", &ModelSpec::ais_betas, int64_t{10000}, non_negative<int64_t>(),
         "RBM: AIS inverse temperatures; 0 skips the estimate")
      .only_if(is_rbm);
  t->rule([](MapReader& r, const ModelSpec& m) {
    if (m.loss == ReconstructionLoss::cross_entropy && m.decoder_activation != Activation::sigmoid) {
      r.fail("loss", "cross_entropy needs decoder_activation: sigmoid");
    }
    if (is_rbm(m)) {
      for (const char* key : {"activation", "decoder_activation", "tied", "loss"}) {
        if (r.has(key)) r.fail(key, "does not apply to model.type rbm (sigmoid hidden units, weights shared by design)");
      }
    }
  });
  return t;
}

TablePtr<RegularizerSpec> regularizers_table() {
  auto wd = std::make_shared<Table<WeightDecaySpec>>("regularizers.weight_decay",
                                                     "Weight decay (AE+wd): weight × Σ W².");
  wd->key("weight", &WeightDecaySpec::weight, 0.0, non_negative<double>(),
          "× Σ W² over weight matrices (the decoder's too when untied; biases excluded)");
  auto c = std::make_shared<Table<ContractiveSpec>>("regularizers.contractive",
                                                    "The contractive penalty (CAE): weight × ‖J_f(x)‖²_F.");
  c->key("weight", &ContractiveSpec::weight, 0.0, non_negative<double>(),
         "× ‖J_f(x)‖²_F, per example, mean over the batch (CAE)");
  c->choice("method", &ContractiveSpec::method, ContractiveMethod::analytic,
            {ContractiveMethod::analytic, ContractiveMethod::exact, ContractiveMethod::stochastic},
            "closed form, autograd double backward, or Hutchinson's random projections (README, Concepts)");
  c->key("projections", &ContractiveSpec::projections, int64_t{1}, positive<int64_t>(),
         "random projections per example (stochastic)");
  c->choice("projection", &ContractiveSpec::projection, Projection::gaussian,
            {Projection::gaussian, Projection::rademacher}, "distribution of the projections");
  auto h = std::make_shared<Table<HigherOrderSpec>>("regularizers.higher_order",
                                                    "The higher-order penalty (CAE+H): weight × E‖J(x) − J(x+ε)‖²_F.");
  h->key("weight", &HigherOrderSpec::weight, 0.0, non_negative<double>(), "× E‖J(x) − J(x+ε)‖²_F (CAE+H)");
  h->key("sigma", &HigherOrderSpec::sigma, 0.1, positive<double>(), "standard deviation of ε");
  h->key("corruptions", &HigherOrderSpec::corruptions, int64_t{4}, positive<int64_t>(), "draws of ε per example");
  auto sp = std::make_shared<Table<SparsitySpec>>("regularizers.sparsity", "Sparsity of the code: weight × the term.");
  sp->key("weight", &SparsitySpec::weight, 0.0, non_negative<double>(), "× the sparsity term");
  sp->choice("kind", &SparsitySpec::kind, SparsityKind::kl, {SparsityKind::kl, SparsityKind::l1},
             "`kl`: Σ_j KL(ρ ‖ ρ̂_j), ρ̂_j the batch-mean activation of unit j (needs a sigmoid encoder); `l1`: mean "
             "over the batch of Σ_j |h_j|");
  sp->key("target", &SparsitySpec::target, 0.05, interval(0, 1, true, true), "ρ");

  auto t = std::make_shared<Table<RegularizerSpec>>(
      "regularizers", "Each regularizer is a mapping with a `weight`; a weight of 0 leaves it out of the loss.");
  t->section(&RegularizerSpec::weight_decay, std::shared_ptr<const Table<WeightDecaySpec>>(wd));
  t->section(&RegularizerSpec::contractive, std::shared_ptr<const Table<ContractiveSpec>>(c));
  t->section(&RegularizerSpec::higher_order, std::shared_ptr<const Table<HigherOrderSpec>>(h));
  t->section(&RegularizerSpec::sparsity, std::shared_ptr<const Table<SparsitySpec>>(sp));
  return t;
}

TablePtr<CorruptionSpec> corruption_table() {
  auto t = std::make_shared<Table<CorruptionSpec>>(
      "corruption", "Noise on the encoder's input; the reconstruction target stays clean (DAE).");
  t->choice("type", &CorruptionSpec::type, CorruptionType::none,
            {CorruptionType::none, CorruptionType::gaussian, CorruptionType::masking, CorruptionType::salt_and_pepper},
            "how the encoder's input is corrupted");
  t->key("level", &CorruptionSpec::level, 0.0, any<double>("≥ 0 for gaussian, [0, 1) otherwise"),
         "gaussian: σ of the added noise; masking: fraction of inputs set to 0; salt_and_pepper: fraction set to 0 or "
         "1 (half each)");
  t->rule([](MapReader& r, const CorruptionSpec& c) {
    const auto check = c.type == CorruptionType::gaussian ? non_negative<double>().check
                                                          : interval(0, 1, false, true).check;
    if (const auto error = check(c.level)) r.fail("level", *error);
  });
  return t;
}

TablePtr<OptimizerSpec> optimizer_table(const std::string& path, double sgd_lr, double momentum) {
  auto t = std::make_shared<Table<OptimizerSpec>>(
      path, path == "optimizer" ? "The optimizer of pretraining." : "The optimizer of fine-tuning.");
  t->choice("type", &OptimizerSpec::type, OptimizerType::sgd, {OptimizerType::sgd, OptimizerType::adam},
            "the update rule");
  t->key_with<double>(
      "lr", &OptimizerSpec::lr,
      [sgd_lr](const OptimizerSpec& o) { return o.type == OptimizerType::adam ? 1e-3 : sgd_lr; },
      fmt::format("`{}` (sgd), `0.001` (adam)", number_text(sgd_lr)), positive<double>(), "base learning rate");
  t->key("momentum", &OptimizerSpec::momentum, momentum, interval(0, 1, false, true), "SGD momentum");
  t->key("nesterov", &OptimizerSpec::nesterov, false, any<bool>(), "Nesterov momentum (needs momentum > 0)");
  t->key("beta1", &OptimizerSpec::beta1, 0.9, interval(0, 1, false, true), "Adam");
  t->key("beta2", &OptimizerSpec::beta2, 0.999, interval(0, 1, false, true), "Adam");
  t->key("eps", &OptimizerSpec::eps, 1e-8, positive<double>(), "Adam");
  t->rule([](MapReader& r, const OptimizerSpec& o) {
    if (o.nesterov && o.momentum == 0) r.fail("nesterov", "needs momentum > 0");
  });
  return t;
}

TablePtr<ScheduleSpec> schedule_table(const std::string& path) {
  auto t = std::make_shared<Table<ScheduleSpec>>(
      path, path == "schedule" ? "The learning rate of epoch e (from 0) given the base rate lr."
                               : "The learning rate of fine-tuning epoch e (from 0) given finetune.optimizer.lr; "
                                 "cosine runs over finetune.epochs.");
  t->choice("type", &ScheduleSpec::type, ScheduleType::constant,
            {ScheduleType::constant, ScheduleType::step, ScheduleType::exponential, ScheduleType::cosine},
            "constant: lr; step: lr·γ^⌊e / step_epochs⌋; exponential: lr·γ^e; cosine: min_lr + (lr − min_lr)(1 + "
            "cos(π e / (epochs − 1)))/2");
  t->key("step_epochs", &ScheduleSpec::step_epochs, int64_t{10}, positive<int64_t>(), "step");
  t->key("gamma", &ScheduleSpec::gamma, 0.1, positive<double>(), "step, exponential");
  t->key("min_lr", &ScheduleSpec::min_lr, 0.0, non_negative<double>(), "cosine");
  return t;
}

TablePtr<TrainingSpec> training_table() {
  auto t = std::make_shared<Table<TrainingSpec>>("training", "The epoch loop of pretraining.");
  t->key("batch_size", &TrainingSpec::batch_size, int64_t{20}, positive<int64_t>(), "examples per step");
  t->key("epochs", &TrainingSpec::epochs, int64_t{10}, positive<int64_t>(),
         "passes over the training split (in a new seeded order each epoch)", Resume::may_grow);
  t->key("patience", &TrainingSpec::patience, int64_t{0}, non_negative<int64_t>(),
         "early stopping: stop after this many epochs without a better validation reconstruction (0: off; needs "
         "`data.valid` > 0). The exported encoder and the summary use the best epoch");
  t->key("min_delta", &TrainingSpec::min_delta, 0.0, non_negative<double>(), "the improvement that counts");
  t->key("saturation_threshold", &TrainingSpec::saturation_threshold, 0.05, interval(0, 0.5, true, true),
         "τ of the saturation metric: the fraction of hidden units with h < τ or h > 1 − τ (tanh rescaled to [0, 1]; "
         "undefined for unbounded activations)");
  t->key("metric_examples", &TrainingSpec::metric_examples, int64_t{1000}, positive<int64_t>(),
         "validation examples (training ones without a validation split) for the Jacobian norm and saturation");
  t->choice("step", &TrainingSpec::step, TrainingStep::automatic,
            {TrainingStep::automatic, TrainingStep::fused, TrainingStep::autograd},
            "how a step's gradients are computed: fused (closed form, no autograd graph: one-layer auto-encoders "
            "with any elementwise activation, cross-entropy or squared error, corruption, weight decay, the analytic "
            "contractive penalty and sparsity; an error for anything else), autograd, or auto (fused where it "
            "applies). The two agree to rounding; summary.json's `step` says which ran, and a resumed run keeps the "
            "step its checkpoint records", Resume::free);
  return t;
}

TablePtr<FinetuneSpec> finetune_table() {
  auto t = std::make_shared<Table<FinetuneSpec>>(
      "finetune", "Supervised fine-tuning after pretraining, when the block is present and `enabled` is not false.");
  t->key_with<bool>("enabled", &FinetuneSpec::enabled, [](const FinetuneSpec&) { return true; }, "`true`",
                    any<bool>(), "false turns the block off");
  t->choice("mode", &FinetuneSpec::mode, FinetuneMode::mlp, {FinetuneMode::mlp, FinetuneMode::linear_probe},
            "`linear_probe` freezes the hidden layer (logistic regression on the features)");
  t->key("epochs", &FinetuneSpec::epochs, int64_t{50}, positive<int64_t>(), "fine-tuning epochs", Resume::may_grow);
  t->key("batch_size", &FinetuneSpec::batch_size, int64_t{20}, positive<int64_t>(), "examples per step");
  t->key("patience", &FinetuneSpec::patience, int64_t{10}, non_negative<int64_t>(),
         "epochs without a lower validation error before stopping (0: off)");
  t->key("weight_decay", &FinetuneSpec::weight_decay, 0.0, non_negative<double>(),
         "× Σ W² over the network's weight matrices (biases excluded), added to the cross-entropy (finetune.csv's "
         "`train_loss` is the cross-entropy alone)");
  t->choice("step", &FinetuneSpec::step, TrainingStep::automatic,
            {TrainingStep::automatic, TrainingStep::fused, TrainingStep::autograd},
            "how a fine-tuning step's gradients are computed: fused (closed form into kept buffers, no autograd "
            "graph; it covers every network fine-tuning builds), autograd, or auto (fused). The two agree to "
            "rounding; summary.json's `finetune.step` says which ran, and a resumed fine-tuning keeps the step its "
            "finetune.pt records", Resume::free);
  t->section(&FinetuneSpec::optimizer,
             std::shared_ptr<const Table<OptimizerSpec>>(optimizer_table("finetune.optimizer", 0.1, 0.9)));
  t->section(&FinetuneSpec::schedule, std::shared_ptr<const Table<ScheduleSpec>>(schedule_table("finetune.schedule")));
  t->written_if([](const FinetuneSpec& f) { return f.enabled; });
  return t;
}

TablePtr<AnalysisSpec> analysis_table() {
  auto t = std::make_shared<Table<AnalysisSpec>>(
      "analysis", "Analyze the run when it finishes (as `carve analyze`), when present and `enabled` is not false.");
  t->key_with<bool>("enabled", &AnalysisSpec::enabled, [](const AnalysisSpec&) { return true; }, "`true`", any<bool>(),
                    "false turns the block off", Resume::free);
  t->key("points", &AnalysisSpec::points, int64_t{100}, positive<int64_t>(),
         "evaluation points (the first of the validation split, else test, else train)", Resume::free);
  t->custom(
      {"radii", "list of numbers", "`[0.25, 0.5, 1, 2, 3, 4, 6, 8, 10, 12]`", "> 0",
       "radii r of the contraction curve", Resume::free},
      [](MapReader& a, AnalysisSpec& s) {
        const auto radii = a.node("radii");
        if (!radii.IsDefined() || radii.IsNull()) return;
        if (!radii.IsSequence() || radii.size() == 0) a.fail("radii", "expected a non-empty list of positive numbers");
        s.radii.clear();
        for (const auto& v : radii) {
          double d = 0;
          if (!v.IsScalar() || !YAML::convert<double>::decode(v, d) || !(d > 0)) {
            a.fail("radii",
                   fmt::format("expected positive numbers, got '{}'", v.IsScalar() ? v.Scalar() : "a collection"));
          }
          s.radii.push_back(d);
        }
      },
      [](YAML::Emitter& e, const AnalysisSpec& s) {
        e << YAML::Key << "radii" << YAML::Value << YAML::Flow << YAML::BeginSeq;
        for (double r : s.radii) e << number_text(r);
        e << YAML::EndSeq;
      },
      [](const AnalysisSpec&, const AnalysisSpec&, const std::string&, std::vector<KeyDifference>&) {});
  t->key("seed", &AnalysisSpec::seed, uint64_t{0}, any<uint64_t>("≥ 0"), "seed of the random directions",
         Resume::free);
  t->written_if([](const AnalysisSpec& a) { return a.enabled; }, Resume::free);
  return t;
}

std::shared_ptr<Table<ExperimentSpec>> make_experiment_table() {
  auto t = std::make_shared<Table<ExperimentSpec>>("", "The file's top level.");
  t->required("name", &ExperimentSpec::name,
              directory_name("is not usable as a directory name"),
              "the run directory is `runs/<name>` unless `--out` says otherwise");
  t->key("seed", &ExperimentSpec::seed, uint64_t{0}, any<uint64_t>("≥ 0"),
         "seeds torch (initialisation, corruption, stochastic projections), the data split and the batch order");
  t->key("device", &ExperimentSpec::device, std::string("auto"),
         {"`auto`, `cpu`, `cuda`, `cuda:N`",
          [](const std::string& v) -> std::optional<std::string> {
            if (v == "auto" || v == "cpu" || v == "cuda" || v.rfind("cuda:", 0) == 0) return std::nullopt;
            return fmt::format("unknown device '{}' (expected auto, cpu, cuda or cuda:N)", v);
          }},
         "`auto` picks CUDA when LibTorch has it; `carve run --device` overrides", Resume::free);
  t->key("threads", &ExperimentSpec::threads, int64_t{0}, non_negative<int64_t>(),
         "intra-op threads; 0 keeps `carve`'s default (every core, or `OMP_NUM_THREADS`)", Resume::free);
  t->section(&ExperimentSpec::data, std::shared_ptr<const Table<DataSpec>>(data_table()));
  t->section(&ExperimentSpec::model, std::shared_ptr<const Table<ModelSpec>>(model_table()));
  t->section(&ExperimentSpec::regularizers, std::shared_ptr<const Table<RegularizerSpec>>(regularizers_table()));
  t->section(&ExperimentSpec::corruption, std::shared_ptr<const Table<CorruptionSpec>>(corruption_table()));
  t->section(&ExperimentSpec::optimizer,
             std::shared_ptr<const Table<OptimizerSpec>>(optimizer_table("optimizer", 0.01, 0.0)));
  t->section(&ExperimentSpec::schedule, std::shared_ptr<const Table<ScheduleSpec>>(schedule_table("schedule")));
  t->section(&ExperimentSpec::training, std::shared_ptr<const Table<TrainingSpec>>(training_table()));
  t->section(&ExperimentSpec::finetune, std::shared_ptr<const Table<FinetuneSpec>>(finetune_table()),
             Presence::optional);
  t->section(&ExperimentSpec::analysis, std::shared_ptr<const Table<AnalysisSpec>>(analysis_table()),
             Presence::null_enables);
  t->custom({"sweep", "mapping", "absent", "key paths → non-empty lists of values",
             "a grid of runs, one per point (below); each point resumes on its own", Resume::free},
            [](MapReader& r, ExperimentSpec& s) { s.sweep = parse_sweep(r.node("sweep"), r.file(), "sweep"); },
            [](YAML::Emitter& e, const ExperimentSpec& s) {
              if (s.sweep.empty()) return;
              e << YAML::Key << "sweep" << YAML::Value << YAML::BeginMap;
              for (const auto& a : s.sweep) {
                e << YAML::Key << a.key << YAML::Value << YAML::Flow << YAML::BeginSeq;
                for (const auto& v : a.values) e << v;
                e << YAML::EndSeq;
              }
              e << YAML::EndMap;
            },
            [](const ExperimentSpec&, const ExperimentSpec&, const std::string&, std::vector<KeyDifference>&) {});
  // A suite or a stack is the same file read by its own table (carve/config/suite.h, stack.h).
  for (const char* block : {"suite", "stack"}) {
    const std::string key(block);
    t->custom({key, key == "suite" ? "mapping" : "list", "absent", "below",
               key == "suite" ? "several models over seeds, one table (below)"
                              : "greedy layer-wise pretraining of several layers (below)",
               Resume::must_match},
              [key](MapReader& r, ExperimentSpec&) { r.node(key); }, [](YAML::Emitter&, const ExperimentSpec&) {},
              [](const ExperimentSpec&, const ExperimentSpec&, const std::string&, std::vector<KeyDifference>&) {});
  }
  t->rule([](MapReader& r, const ExperimentSpec& s) {
    if (s.finetune.enabled && s.data.valid == 0) {
      r.fail("finetune", "fine-tuning selects its epoch on a validation split (data.valid > 0)");
    }
    if (s.model.type == ModelType::rbm) {
      const auto& g = s.regularizers;
      if (g.contractive.weight > 0 || g.higher_order.weight > 0 || g.sparsity.weight > 0 ||
          s.corruption.type != CorruptionType::none) {
        r.map("model").fail("type", "rbm trains by contrastive divergence: of the regularizers only weight_decay "
                                    "applies, and corruption does not");
      }
    }
    const auto& sp = s.regularizers.sparsity;
    if (sp.weight > 0 && sp.kind == SparsityKind::kl && s.model.activation != Activation::sigmoid) {
      r.map("regularizers").map("sparsity").fail(
          "kind", "kl sparsity compares mean activations with a target in (0, 1): it needs model.activation: sigmoid "
                  "(use l1)");
    }
    if (s.data.valid == 0 && s.training.patience > 0) {
      r.map("training").fail("patience", "early stopping needs a validation split (data.valid > 0)");
    }
  });
  return t;
}

}  // namespace

const Table<ExperimentSpec>& experiment_table() {
  static const auto table = make_experiment_table();
  return *table;
}

std::string resolve_data_paths(const std::string& dataset, const std::string& file, const std::string& where) {
  const auto& names = dataset_names();
  if (std::find(names.begin(), names.end(), dataset) != names.end()) return dataset;
  std::string prefix;
  for (const char* p : {"idx:", "amat:", "cifar10-bw:", "cifar10:"}) {
    if (dataset.rfind(p, 0) == 0) {
      prefix = p;
      break;
    }
  }
  const auto base = std::filesystem::path(file).parent_path();
  std::string out = prefix;
  const auto parts = dataset_paths(dataset);
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::filesystem::path part(parts[i]);
    std::error_code ec;  // a name too long for the system is "no such file", not an exception
    std::string resolved;
    if (part.is_absolute()) {
      if (!std::filesystem::exists(part, ec)) throw ConfigError(fmt::format("{}: no such file or directory: {}", where, parts[i]));
      resolved = parts[i];
    } else if (const auto beside = (base / part).lexically_normal(); std::filesystem::exists(beside, ec)) {
      resolved = beside.string();
    } else if (std::filesystem::exists(part, ec)) {
      resolved = parts[i];  // relative to the working directory, as carve 0.1 read it
    } else {
      throw ConfigError(fmt::format("{}: no such file or directory: {} (tried {} beside the experiment file{})", where,
                                    parts[i], beside.string(),
                                    base.empty() ? "" : fmt::format(", and {} in the working directory", parts[i])));
    }
    out += (i ? "," : "") + resolved;
  }
  return out;
}

}  // namespace config

std::vector<config::KeyDifference> resume_differences(const ExperimentSpec& was, const ExperimentSpec& now) {
  std::vector<config::KeyDifference> out;
  config::experiment_table().diff(was, now, "", out);
  return out;
}

std::string config_docs() {
  std::vector<config::DocTable> tables;
  config::experiment_table().docs(tables);
  for (auto& t : config::suite_docs()) tables.push_back(std::move(t));
  return config::docs_markdown(tables);
}

}  // namespace carve
