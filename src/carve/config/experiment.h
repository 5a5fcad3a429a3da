// An experiment file as a typed, validated specification. Every key is documented in
// docs/CONFIG.md; a YAML key is the constructor argument of the same name, so AE, AE+wd, CAE,
// CAE+H, DAE, contractive DAE and sparse AE are configurations of one model and one loss:
//
//   loss = reconstruction + sum over regularizers of weight * term
//
//   carve::ExperimentSpec spec = carve::load_experiment("experiments/quickstart.yaml",
//                                                       {"regularizers.contractive.weight=0.3"});
//   std::string resolved = carve::to_yaml(spec);   // every key, defaults filled in
//
// Validation happens here, before anything runs: unknown keys (with the closest valid one),
// wrong types, out-of-range values, missing required keys, YAML syntax, a missing data path.
// Each is a ConfigError "FILE:LINE:COL: message".
#pragma once

#include <map>
#include <string>
#include <vector>

#include "carve/config/schema.h"
#include "carve/nn/activation.h"
#include "carve/penalty/contractive.h"
#include "carve/models/autoencoder.h"
#include "carve/models/rbm.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace carve {

/// `model.type`: what is trained.
enum class ModelType { autoencoder, rbm };
/// `corruption.type`: the noise applied to a training input (the target stays clean).
enum class CorruptionType { none, gaussian, masking, salt_and_pepper };
/// `optimizer.type`.
enum class OptimizerType { sgd, adam };
/// `schedule.type`: the learning rate per epoch.
enum class ScheduleType { constant, step, exponential, cosine };
/// `regularizers.sparsity.kind`.
enum class SparsityKind { kl, l1 };
/// `finetune.mode`: train the whole MLP, or only the output layer on frozen codes.
enum class FinetuneMode { mlp, linear_probe };
/// `training.step`: how a step's gradients are computed (carve/train/fused_step.h).
enum class TrainingStep { automatic, fused, autograd };
std::string to_string(ModelType v);
std::string to_string(CorruptionType v);
std::string to_string(OptimizerType v);
std::string to_string(ScheduleType v);
std::string to_string(TrainingStep v);
std::string to_string(SparsityKind v);
std::string to_string(FinetuneMode v);

/// `data:` (declared in carve/config/experiment_schema.cpp, like every key below).
struct DataSpec {
  std::string dataset;  ///< required: a name or a path (carve/data/catalog.h)
  std::string dir;      ///< data directory ("" = $CARVE_DATA_DIR or the checkout's data/)
  int64_t train = 0, valid = 0, test = 0;
  bool shuffle = true, stratify = false;
  bool standardize = false;  ///< zero mean, unit variance per input, from the training split
};

/// `model:`
struct ModelSpec {
  ModelType type = ModelType::autoencoder;
  int64_t hidden = 1000;
  Activation activation = Activation::sigmoid;
  Activation decoder_activation = Activation::sigmoid;
  bool tied = true;
  ReconstructionLoss loss = ReconstructionLoss::cross_entropy;
  // rbm
  VisibleUnits visible_units = VisibleUnits::binary;
  int64_t cd_k = 1;
  bool persistent = false;
  int64_t chains = 0;
  int64_t ais_runs = 100;
  int64_t ais_betas = 10000;  ///< 0: no log-likelihood estimate for large RBMs
};

/// `regularizers.weight_decay:` weight × Σ W² (both weights when untied).
struct WeightDecaySpec {
  double weight = 0;
};
/// `regularizers.contractive:` weight × ||J_f(x)||²_F (carve/penalty/contractive.h).
struct ContractiveSpec {
  double weight = 0;
  ContractiveMethod method = ContractiveMethod::analytic;
  int64_t projections = 1;
  Projection projection = Projection::gaussian;
};
/// `regularizers.higher_order:` weight × E ||J(x) − J(x+ε)||²_F (carve/penalty/higher_order.h).
struct HigherOrderSpec {
  double weight = 0;
  double sigma = 0.1;
  int64_t corruptions = 4;
};
/// `regularizers.sparsity:` weight × KL(target || mean activation), or the L1 norm of the code.
struct SparsitySpec {
  double weight = 0;
  SparsityKind kind = SparsityKind::kl;
  double target = 0.05;
};
/// `regularizers:` each term is off at weight 0.
struct RegularizerSpec {
  WeightDecaySpec weight_decay;
  ContractiveSpec contractive;
  HigherOrderSpec higher_order;
  SparsitySpec sparsity;
};

/// `corruption:`
struct CorruptionSpec {
  CorruptionType type = CorruptionType::none;
  double level = 0;  ///< sigma (gaussian) or the fraction of inputs corrupted
};

/// `optimizer:` (and `finetune.optimizer:`, whose defaults differ).
struct OptimizerSpec {
  OptimizerType type = OptimizerType::sgd;
  double lr = 0.01;
  double momentum = 0;
  bool nesterov = false;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

/// `schedule:`
struct ScheduleSpec {
  ScheduleType type = ScheduleType::constant;
  int64_t step_epochs = 10;  ///< step: multiply by gamma every step_epochs
  double gamma = 0.1;        ///< step, exponential (per epoch)
  double min_lr = 0;         ///< cosine floor
};

/// `training:`
struct TrainingSpec {
  int64_t batch_size = 20;
  int64_t epochs = 10;
  int64_t patience = 0;  ///< early stopping on valid reconstruction; 0 = off
  double min_delta = 0;
  double saturation_threshold = 0.05;
  int64_t metric_examples = 1000;  ///< valid examples used for the Jacobian-norm and saturation
  TrainingStep step = TrainingStep::automatic;  ///< auto: the fused step where it applies
};

/// The optional `finetune:` block: supervised fine-tuning after pretraining (carve/train/finetune.h).
struct FinetuneSpec {
  bool enabled = false;
  FinetuneMode mode = FinetuneMode::mlp;
  int64_t epochs = 50;
  int64_t batch_size = 20;
  int64_t patience = 10;  ///< epochs without a lower validation error; 0 = off
  double weight_decay = 0;  ///< × Σ W² over the network's weight matrices (biases excluded)
  OptimizerSpec optimizer{OptimizerType::sgd, 0.1, 0.9};
  ScheduleSpec schedule;  ///< the learning rate of each fine-tuning epoch (cosine over `epochs`)
  TrainingStep step = TrainingStep::automatic;  ///< auto: the fused step (carve/train/fused_finetune.h)
};

/// The optional `analysis:` block: analyze the run when it finishes (carve/report/analysis.h).
struct AnalysisSpec {
  bool enabled = false;
  int64_t points = 100;
  std::vector<double> radii{0.25, 0.5, 1, 2, 3, 4, 6, 8, 10, 12};
  uint64_t seed = 0;
};

/// One axis of a sweep: a dotted key and the values it takes.
struct SweepAxis {
  std::string key;                  // a dotted key path
  std::vector<std::string> values;  // YAML scalars
  std::string origin = "";          // FILE:LINE:COL of the key, for errors of its points
};

/// Each axis's key -> where it stands in its file (SweepAxis::origin), for relocate_overrides.
std::map<std::string, std::string> sweep_origins(const std::vector<SweepAxis>& axes);

/// A whole experiment file, resolved: every key with its value or its default
/// (load_experiment, parse_experiment below).
struct ExperimentSpec {
  std::string file;
  std::string name;
  uint64_t seed = 0;
  std::string device = "auto";
  int64_t threads = 0;
  DataSpec data;
  ModelSpec model;
  RegularizerSpec regularizers;
  CorruptionSpec corruption;
  OptimizerSpec optimizer;
  ScheduleSpec schedule;
  TrainingSpec training;
  FinetuneSpec finetune;
  AnalysisSpec analysis;
  std::vector<SweepAxis> sweep;
  std::vector<std::string> overrides;  // the --set assignments applied
};

// Parses, applies `overrides` (key.path=value), validates. Throws ConfigError / UsageError.
ExperimentSpec load_experiment(const std::string& file, const std::vector<std::string>& overrides = {});
// The same from text (tests); `file` names it in errors.
ExperimentSpec parse_experiment(const std::string& text, const std::string& file,
                                const std::vector<std::string>& overrides = {});
// The resolved configuration, every key with its value, as YAML (numbers in shortest
// round-trip form).
std::string to_yaml(const ExperimentSpec& spec);
// The keys whose resolved values differ between a run's configuration (`was`) and the one that
// resumes it (`now`) in a way their declared resume rule forbids (empty: it may resume).
std::vector<config::KeyDifference> resume_differences(const ExperimentSpec& was, const ExperimentSpec& now);
// The key tables of docs/CONFIG.md, in Markdown (`carve config docs`).
std::string config_docs();
// The grid points of spec.sweep as lists of overrides (one empty list without a sweep).
std::vector<std::vector<std::string>> sweep_points(const ExperimentSpec& spec);
// The grid of a list of axes, the first axis varying slowest: {{"a=1","b=x"}, {"a=1","b=y"}, ...}.
std::vector<std::vector<std::string>> sweep_grid(const std::vector<SweepAxis>& axes);
// A sweep block (key path -> non-empty list of scalars), absent or null = no axes; `where` is
// its key path in errors ("sweep", "suite.runs[0].sweep").
std::vector<SweepAxis> parse_sweep(const YAML::Node& node, const std::string& file, const std::string& where);

}  // namespace carve
