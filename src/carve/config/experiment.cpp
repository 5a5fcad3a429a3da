#include "carve/config/experiment.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "carve/config/yaml_reader.h"
#include "carve/data/file_bytes.h"
#include "carve/data/variations.h"
#include "carve/error.h"

namespace carve {

namespace {

using config::MapReader;

const std::vector<std::string> kNamedDatasets{"mnist", "fashion-mnist", "cifar10-bw", "cifar10",
                                              "rectangles", "convex", "mnist-rot", "mnist-back-rand"};

void positive(MapReader& r, const std::string& key, double v) {
  if (!(v > 0)) r.fail(key, fmt::format("must be > 0, got {}", v));
}
void non_negative(MapReader& r, const std::string& key, double v) {
  if (v < 0) r.fail(key, fmt::format("must be >= 0, got {}", v));
}
void in_unit(MapReader& r, const std::string& key, double v, bool open_right) {
  if (v < 0 || v > 1 || (open_right && v >= 1)) {
    r.fail(key, fmt::format("must be in [0, 1{}, got {}", open_right ? ")" : "]", v));
  }
}

// Paths named by a dataset spec, for the up-front existence check.
std::vector<std::string> dataset_paths(const std::string& spec) {
  auto rest = [&](size_t prefix) {
    std::vector<std::string> out;
    std::stringstream ss(spec.substr(prefix));
    for (std::string part; std::getline(ss, part, ',');) out.push_back(part);
    return out;
  };
  if (spec.rfind("idx:", 0) == 0) return rest(4);
  if (spec.rfind("amat:", 0) == 0) return rest(5);
  if (spec.rfind("cifar10-bw:", 0) == 0) return rest(11);
  if (spec.rfind("cifar10:", 0) == 0) return rest(8);
  return {spec};
}

void read_data(MapReader& root, ExperimentSpec& s) {
  auto r = root.map("data");
  if (!root.has("data")) r.fail("dataset", "missing required section 'data' (at least data.dataset)");
  s.data.dataset = r.require<std::string>("dataset");
  const bool named = std::find(kNamedDatasets.begin(), kNamedDatasets.end(), s.data.dataset) != kNamedDatasets.end();
  if (!named) {
    const bool looks_like_path = s.data.dataset.find(':') != std::string::npos ||
                                 s.data.dataset.find('/') != std::string::npos ||
                                 s.data.dataset.find('.') != std::string::npos;
    if (!looks_like_path) {
      const auto hint = config::closest(s.data.dataset, kNamedDatasets);
      r.fail("dataset", fmt::format("unknown dataset '{}' (known: {}, or idx:/amat:/cifar10: paths){}",
                                    s.data.dataset, fmt::join(kNamedDatasets, ", "),
                                    hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint)));
    }
    for (const auto& p : dataset_paths(s.data.dataset)) {
      if (!std::filesystem::exists(p)) r.fail("dataset", fmt::format("no such file or directory: {}", p));
    }
  }
  s.data.dir = r.get<std::string>("dir", "");
  if (!s.data.dir.empty() && !std::filesystem::is_directory(s.data.dir)) {
    r.fail("dir", fmt::format("no such directory: {}", s.data.dir));
  }
  s.data.train = r.get<int64_t>("train", 0);
  s.data.valid = r.get<int64_t>("valid", 0);
  s.data.test = r.get<int64_t>("test", 0);
  non_negative(r, "train", s.data.train);
  non_negative(r, "valid", s.data.valid);
  non_negative(r, "test", s.data.test);
  s.data.shuffle = r.get<bool>("shuffle", true);
  s.data.stratify = r.get<bool>("stratify", false);
  r.finish();
}

Activation activation(MapReader& r, const std::string& key, const std::string& fallback,
                      const std::vector<std::string>& allowed) {
  return parse_activation(r.choice(key, fallback, allowed));
}

void read_model(MapReader& root, ExperimentSpec& s) {
  auto r = root.map("model");
  s.model.type = r.choice("type", "autoencoder", {"autoencoder", "rbm"});
  s.model.hidden = r.get<int64_t>("hidden", 1000);
  positive(r, "hidden", static_cast<double>(s.model.hidden));
  s.model.activation = activation(r, "activation", "sigmoid", activation_names());
  s.model.decoder_activation = activation(r, "decoder_activation", "sigmoid", {"sigmoid", "linear"});
  s.model.tied = r.get<bool>("tied", true);
  s.model.loss = parse_reconstruction_loss(
      r.choice("loss", s.model.decoder_activation == Activation::sigmoid ? "cross_entropy" : "squared_error",
               {"cross_entropy", "squared_error"}));
  if (s.model.loss == ReconstructionLoss::cross_entropy && s.model.decoder_activation != Activation::sigmoid) {
    r.fail("loss", "cross_entropy needs decoder_activation: sigmoid");
  }
  s.model.visible_units = parse_visible_units(r.choice("visible_units", "binary", {"binary", "gaussian"}));
  s.model.cd_k = r.get<int64_t>("cd_k", 1);
  positive(r, "cd_k", static_cast<double>(s.model.cd_k));
  s.model.persistent = r.get<bool>("persistent", false);
  s.model.chains = r.get<int64_t>("chains", 0);
  non_negative(r, "chains", static_cast<double>(s.model.chains));
  s.model.ais_runs = r.get<int64_t>("ais_runs", 100);
  if (s.model.ais_runs < 2) r.fail("ais_runs", fmt::format("must be >= 2, got {}", s.model.ais_runs));
  s.model.ais_betas = r.get<int64_t>("ais_betas", 10000);
  non_negative(r, "ais_betas", static_cast<double>(s.model.ais_betas));
  if (s.model.type == "rbm") {
    for (const char* key : {"activation", "decoder_activation", "tied", "loss"}) {
      if (r.has(key)) r.fail(key, "does not apply to model.type rbm (sigmoid hidden units, weights shared by design)");
    }
  }
  r.finish();
}

void read_regularizers(MapReader& root, ExperimentSpec& s) {
  auto r = root.map("regularizers");
  auto& g = s.regularizers;
  {
    auto wd = r.map("weight_decay");
    g.weight_decay = wd.get<double>("weight", 0);
    non_negative(wd, "weight", g.weight_decay);
    wd.finish();
  }
  {
    auto c = r.map("contractive");
    g.contractive = c.get<double>("weight", 0);
    non_negative(c, "weight", g.contractive);
    g.contractive_method = parse_contractive_method(c.choice("method", "analytic", {"analytic", "exact", "stochastic"}));
    g.contractive_projections = c.get<int64_t>("projections", 1);
    positive(c, "projections", static_cast<double>(g.contractive_projections));
    g.contractive_projection = parse_projection(c.choice("projection", "gaussian", {"gaussian", "rademacher"}));
    c.finish();
  }
  {
    auto h = r.map("higher_order");
    g.higher_order = h.get<double>("weight", 0);
    non_negative(h, "weight", g.higher_order);
    g.higher_order_sigma = h.get<double>("sigma", 0.1);
    positive(h, "sigma", g.higher_order_sigma);
    g.higher_order_corruptions = h.get<int64_t>("corruptions", 4);
    positive(h, "corruptions", static_cast<double>(g.higher_order_corruptions));
    h.finish();
  }
  {
    auto sp = r.map("sparsity");
    g.sparsity = sp.get<double>("weight", 0);
    non_negative(sp, "weight", g.sparsity);
    g.sparsity_kind = sp.choice("kind", "kl", {"kl", "l1"});
    g.sparsity_target = sp.get<double>("target", 0.05);
    if (g.sparsity_target <= 0 || g.sparsity_target >= 1) {
      sp.fail("target", fmt::format("must be in (0, 1), got {}", g.sparsity_target));
    }
    if (g.sparsity > 0 && g.sparsity_kind == "kl" && s.model.activation != Activation::sigmoid) {
      sp.fail("kind", "kl sparsity compares mean activations with a target in (0, 1): it needs model.activation: sigmoid (use l1)");
    }
    sp.finish();
  }
  r.finish();
}

void read_optimizer(MapReader& r, OptimizerSpec& o, double sgd_lr, double momentum) {
  o.type = r.choice("type", "sgd", {"sgd", "adam"});
  o.lr = r.get<double>("lr", o.type == "adam" ? 1e-3 : sgd_lr);
  positive(r, "lr", o.lr);
  o.momentum = r.get<double>("momentum", momentum);
  in_unit(r, "momentum", o.momentum, true);
  o.nesterov = r.get<bool>("nesterov", false);
  if (o.nesterov && o.momentum == 0) r.fail("nesterov", "needs momentum > 0");
  o.beta1 = r.get<double>("beta1", 0.9);
  in_unit(r, "beta1", o.beta1, true);
  o.beta2 = r.get<double>("beta2", 0.999);
  in_unit(r, "beta2", o.beta2, true);
  o.eps = r.get<double>("eps", 1e-8);
  positive(r, "eps", o.eps);
  r.finish();
}

void read_finetune(MapReader& root, ExperimentSpec& s) {
  if (!root.has("finetune")) {
    root.node("finetune");
    return;
  }
  auto r = root.map("finetune");
  auto& f = s.finetune;
  f.enabled = r.get<bool>("enabled", true);
  f.mode = r.choice("mode", "mlp", {"mlp", "linear_probe"});
  f.epochs = r.get<int64_t>("epochs", 50);
  positive(r, "epochs", static_cast<double>(f.epochs));
  f.batch_size = r.get<int64_t>("batch_size", 20);
  positive(r, "batch_size", static_cast<double>(f.batch_size));
  f.patience = r.get<int64_t>("patience", 10);
  non_negative(r, "patience", static_cast<double>(f.patience));
  auto o = r.map("optimizer");
  read_optimizer(o, f.optimizer, 0.1, 0.9);
  r.finish();
}

void read_rest(MapReader& root, ExperimentSpec& s) {
  {
    auto r = root.map("corruption");
    s.corruption.type = r.choice("type", "none", {"none", "gaussian", "masking", "salt_and_pepper"});
    s.corruption.level = r.get<double>("level", 0);
    if (s.corruption.type == "gaussian") non_negative(r, "level", s.corruption.level);
    else in_unit(r, "level", s.corruption.level, true);
    r.finish();
  }
  {
    auto r = root.map("optimizer");
    read_optimizer(r, s.optimizer, 0.01, 0.0);
  }
  {
    auto r = root.map("schedule");
    auto& c = s.schedule;
    c.type = r.choice("type", "constant", {"constant", "step", "exponential", "cosine"});
    c.step_epochs = r.get<int64_t>("step_epochs", 10);
    positive(r, "step_epochs", static_cast<double>(c.step_epochs));
    c.gamma = r.get<double>("gamma", 0.1);
    positive(r, "gamma", c.gamma);
    c.min_lr = r.get<double>("min_lr", 0);
    non_negative(r, "min_lr", c.min_lr);
    r.finish();
  }
  {
    auto r = root.map("training");
    auto& t = s.training;
    t.batch_size = r.get<int64_t>("batch_size", 20);
    positive(r, "batch_size", static_cast<double>(t.batch_size));
    t.epochs = r.get<int64_t>("epochs", 10);
    positive(r, "epochs", static_cast<double>(t.epochs));
    t.patience = r.get<int64_t>("patience", 0);
    non_negative(r, "patience", static_cast<double>(t.patience));
    t.min_delta = r.get<double>("min_delta", 0);
    non_negative(r, "min_delta", t.min_delta);
    t.saturation_threshold = r.get<double>("saturation_threshold", 0.05);
    if (!(t.saturation_threshold > 0 && t.saturation_threshold < 0.5)) {
      r.fail("saturation_threshold", fmt::format("must be in (0, 0.5), got {}", t.saturation_threshold));
    }
    t.metric_examples = r.get<int64_t>("metric_examples", 1000);
    positive(r, "metric_examples", static_cast<double>(t.metric_examples));
    r.finish();
  }
}

YAML::Node load_yaml(const std::string& text, const std::string& file) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(file, e.mark.line + 1, e.mark.column + 1, "YAML syntax error: " + e.msg);
  }
}

}  // namespace

ExperimentSpec parse_experiment(const std::string& text, const std::string& file,
                                const std::vector<std::string>& overrides) {
  YAML::Node root = load_yaml(text, file);
  if (!root.IsDefined() || root.IsNull()) throw ConfigError(file, 1, 1, "the file is empty");
  auto overridden = std::make_shared<std::set<std::string>>();
  for (const auto& o : overrides) overridden->insert(config::apply_override(root, o));
  MapReader r(root, file, "", overridden);
  ExperimentSpec s;
  s.file = file;
  s.overrides = overrides;
  s.name = r.require<std::string>("name");
  if (s.name.empty() || s.name.find_first_of("/\\") != std::string::npos || s.name == "." || s.name == "..") {
    r.fail("name", fmt::format("'{}' is not usable as a directory name", s.name));
  }
  s.seed = r.get<uint64_t>("seed", 0);
  s.device = r.get<std::string>("device", "auto");
  if (!(s.device == "auto" || s.device == "cpu" || s.device == "cuda" || s.device.rfind("cuda:", 0) == 0)) {
    r.fail("device", fmt::format("unknown device '{}' (expected auto, cpu, cuda or cuda:N)", s.device));
  }
  s.threads = r.get<int64_t>("threads", 0);
  non_negative(r, "threads", static_cast<double>(s.threads));
  read_data(r, s);
  read_model(r, s);
  read_regularizers(r, s);
  read_rest(r, s);
  read_finetune(r, s);
  if (s.finetune.enabled && s.data.valid == 0) {
    throw ConfigError(fmt::format("{}: finetune: fine-tuning selects its epoch on a validation split (data.valid > 0)",
                                  config::location(file, root["finetune"], "finetune", overridden.get())));
  }
  if (s.model.type == "rbm") {
    const auto& g = s.regularizers;
    if (g.contractive > 0 || g.higher_order > 0 || g.sparsity > 0 || s.corruption.type != "none") {
      throw ConfigError(fmt::format("{}: model.type rbm trains by contrastive divergence: of the regularizers only "
                                    "weight_decay applies, and corruption does not",
                                    config::location(file, root["model"]["type"], "model.type", overridden.get())));
    }
  }
  if (r.has("analysis") || r.node("analysis").IsDefined()) {
    auto a = r.map("analysis");
    s.analysis.enabled = a.get<bool>("enabled", true);
    s.analysis.points = a.get<int64_t>("points", 100);
    positive(a, "points", static_cast<double>(s.analysis.points));
    s.analysis.seed = a.get<uint64_t>("seed", 0);
    const auto radii = a.node("radii");
    if (radii.IsDefined() && !radii.IsNull()) {
      if (!radii.IsSequence() || radii.size() == 0) a.fail("radii", "expected a non-empty list of positive numbers");
      s.analysis.radii.clear();
      for (const auto& v : radii) {
        double d = 0;
        if (!v.IsScalar() || !YAML::convert<double>::decode(v, d) || !(d > 0)) {
          a.fail("radii", fmt::format("expected positive numbers, got '{}'", v.IsScalar() ? v.Scalar() : "a collection"));
        }
        s.analysis.radii.push_back(d);
      }
    }
    a.finish();
  }
  s.sweep = parse_sweep(r.node("sweep"), file, "sweep");
  r.node("suite");  // read by carve/train/suite.h
  r.node("stack");  // read by carve/train/stack.h
  r.finish();
  if (s.data.valid == 0 && s.training.patience > 0) {
    throw ConfigError(fmt::format("{}: training.patience: early stopping needs a validation split (data.valid > 0)",
                                  config::location(file, root["training"]["patience"], "training.patience",
                                                   overridden.get())));
  }
  // Every sweep point must be valid before anything runs.
  for (const auto& point : sweep_points(s)) {
    if (point.empty()) break;
    auto all = overrides;
    all.insert(all.end(), point.begin(), point.end());
    YAML::Node copy = load_yaml(text, file);
    copy.remove("sweep");
    std::stringstream ss;
    ss << copy;
    try {
      parse_experiment(ss.str(), file, all);
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("{} (sweep point {})", e.what(), fmt::join(point, ", ")));
    }
  }
  return s;
}

ExperimentSpec load_experiment(const std::string& file, const std::vector<std::string>& overrides) {
  if (!std::filesystem::is_regular_file(file)) throw ConfigError(fmt::format("{}: no such file", file));
  return parse_experiment(data::read_text_file(file), file, overrides);
}

std::vector<SweepAxis> parse_sweep(const YAML::Node& node, const std::string& file, const std::string& where) {
  std::vector<SweepAxis> axes;
  if (!node.IsDefined() || node.IsNull()) return axes;
  if (!node.IsMap()) {
    throw ConfigError(fmt::format("{}: {}: must map key paths to lists of values", config::location(file, node, where), where));
  }
  for (const auto& kv : node) {
    SweepAxis axis{kv.first.as<std::string>(), {}};
    const auto at = where + "." + axis.key;
    if (!kv.second.IsSequence() || kv.second.size() == 0) {
      throw ConfigError(fmt::format("{}: {}: expected a non-empty list of values", config::location(file, kv.second, at), at));
    }
    for (const auto& v : kv.second) {
      if (!v.IsScalar()) throw ConfigError(fmt::format("{}: {}: values must be scalars", config::location(file, v, at), at));
      axis.values.push_back(v.Scalar());
    }
    axes.push_back(axis);
  }
  return axes;
}

std::vector<std::vector<std::string>> sweep_grid(const std::vector<SweepAxis>& axes) {
  std::vector<std::vector<std::string>> points{{}};
  for (const auto& axis : axes) {
    std::vector<std::vector<std::string>> next;
    for (const auto& p : points) {
      for (const auto& v : axis.values) {
        auto q = p;
        q.push_back(axis.key + "=" + v);
        next.push_back(q);
      }
    }
    points = next;
  }
  return points;
}

std::vector<std::vector<std::string>> sweep_points(const ExperimentSpec& spec) { return sweep_grid(spec.sweep); }

std::string to_yaml(const ExperimentSpec& s) {
  YAML::Emitter e;
  e << YAML::BeginMap;
  e << YAML::Key << "name" << YAML::Value << s.name;
  e << YAML::Key << "seed" << YAML::Value << s.seed;
  e << YAML::Key << "device" << YAML::Value << s.device;
  e << YAML::Key << "threads" << YAML::Value << s.threads;
  e << YAML::Key << "data" << YAML::Value << YAML::BeginMap
    << YAML::Key << "dataset" << YAML::Value << s.data.dataset
    << YAML::Key << "dir" << YAML::Value << s.data.dir
    << YAML::Key << "train" << YAML::Value << s.data.train
    << YAML::Key << "valid" << YAML::Value << s.data.valid
    << YAML::Key << "test" << YAML::Value << s.data.test
    << YAML::Key << "shuffle" << YAML::Value << s.data.shuffle
    << YAML::Key << "stratify" << YAML::Value << s.data.stratify << YAML::EndMap;
  e << YAML::Key << "model" << YAML::Value << YAML::BeginMap
    << YAML::Key << "type" << YAML::Value << s.model.type
    << YAML::Key << "hidden" << YAML::Value << s.model.hidden;
  if (s.model.type == "rbm") {
    e << YAML::Key << "visible_units" << YAML::Value << to_string(s.model.visible_units)
      << YAML::Key << "cd_k" << YAML::Value << s.model.cd_k
      << YAML::Key << "persistent" << YAML::Value << s.model.persistent
      << YAML::Key << "chains" << YAML::Value << s.model.chains
      << YAML::Key << "ais_runs" << YAML::Value << s.model.ais_runs
      << YAML::Key << "ais_betas" << YAML::Value << s.model.ais_betas;
  } else {
    e << YAML::Key << "activation" << YAML::Value << to_string(s.model.activation)
      << YAML::Key << "decoder_activation" << YAML::Value << to_string(s.model.decoder_activation)
      << YAML::Key << "tied" << YAML::Value << s.model.tied
      << YAML::Key << "loss" << YAML::Value << to_string(s.model.loss);
  }
  e << YAML::EndMap;
  const auto& g = s.regularizers;
  e << YAML::Key << "regularizers" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "weight_decay" << YAML::Value << YAML::BeginMap << YAML::Key << "weight" << YAML::Value
    << g.weight_decay << YAML::EndMap;
  e << YAML::Key << "contractive" << YAML::Value << YAML::BeginMap
    << YAML::Key << "weight" << YAML::Value << g.contractive
    << YAML::Key << "method" << YAML::Value << to_string(g.contractive_method)
    << YAML::Key << "projections" << YAML::Value << g.contractive_projections
    << YAML::Key << "projection" << YAML::Value << to_string(g.contractive_projection) << YAML::EndMap;
  e << YAML::Key << "higher_order" << YAML::Value << YAML::BeginMap
    << YAML::Key << "weight" << YAML::Value << g.higher_order
    << YAML::Key << "sigma" << YAML::Value << g.higher_order_sigma
    << YAML::Key << "corruptions" << YAML::Value << g.higher_order_corruptions << YAML::EndMap;
  e << YAML::Key << "sparsity" << YAML::Value << YAML::BeginMap
    << YAML::Key << "weight" << YAML::Value << g.sparsity
    << YAML::Key << "kind" << YAML::Value << g.sparsity_kind
    << YAML::Key << "target" << YAML::Value << g.sparsity_target << YAML::EndMap;
  e << YAML::EndMap;
  e << YAML::Key << "corruption" << YAML::Value << YAML::BeginMap
    << YAML::Key << "type" << YAML::Value << s.corruption.type
    << YAML::Key << "level" << YAML::Value << s.corruption.level << YAML::EndMap;
  const auto& o = s.optimizer;
  e << YAML::Key << "optimizer" << YAML::Value << YAML::BeginMap
    << YAML::Key << "type" << YAML::Value << o.type << YAML::Key << "lr" << YAML::Value << o.lr
    << YAML::Key << "momentum" << YAML::Value << o.momentum << YAML::Key << "nesterov" << YAML::Value << o.nesterov
    << YAML::Key << "beta1" << YAML::Value << o.beta1 << YAML::Key << "beta2" << YAML::Value << o.beta2
    << YAML::Key << "eps" << YAML::Value << o.eps << YAML::EndMap;
  e << YAML::Key << "schedule" << YAML::Value << YAML::BeginMap
    << YAML::Key << "type" << YAML::Value << s.schedule.type
    << YAML::Key << "step_epochs" << YAML::Value << s.schedule.step_epochs
    << YAML::Key << "gamma" << YAML::Value << s.schedule.gamma
    << YAML::Key << "min_lr" << YAML::Value << s.schedule.min_lr << YAML::EndMap;
  const auto& t = s.training;
  e << YAML::Key << "training" << YAML::Value << YAML::BeginMap
    << YAML::Key << "batch_size" << YAML::Value << t.batch_size << YAML::Key << "epochs" << YAML::Value << t.epochs
    << YAML::Key << "patience" << YAML::Value << t.patience << YAML::Key << "min_delta" << YAML::Value << t.min_delta
    << YAML::Key << "saturation_threshold" << YAML::Value << t.saturation_threshold
    << YAML::Key << "metric_examples" << YAML::Value << t.metric_examples << YAML::EndMap;
  if (s.finetune.enabled) {
    const auto& o = s.finetune.optimizer;
    e << YAML::Key << "finetune" << YAML::Value << YAML::BeginMap
      << YAML::Key << "enabled" << YAML::Value << true
      << YAML::Key << "mode" << YAML::Value << s.finetune.mode
      << YAML::Key << "epochs" << YAML::Value << s.finetune.epochs
      << YAML::Key << "batch_size" << YAML::Value << s.finetune.batch_size
      << YAML::Key << "patience" << YAML::Value << s.finetune.patience
      << YAML::Key << "optimizer" << YAML::Value << YAML::BeginMap
      << YAML::Key << "type" << YAML::Value << o.type << YAML::Key << "lr" << YAML::Value << o.lr
      << YAML::Key << "momentum" << YAML::Value << o.momentum << YAML::Key << "nesterov" << YAML::Value << o.nesterov
      << YAML::Key << "beta1" << YAML::Value << o.beta1 << YAML::Key << "beta2" << YAML::Value << o.beta2
      << YAML::Key << "eps" << YAML::Value << o.eps << YAML::EndMap << YAML::EndMap;
  }
  if (s.analysis.enabled) {
    e << YAML::Key << "analysis" << YAML::Value << YAML::BeginMap
      << YAML::Key << "enabled" << YAML::Value << true
      << YAML::Key << "points" << YAML::Value << s.analysis.points
      << YAML::Key << "radii" << YAML::Value << YAML::Flow << s.analysis.radii
      << YAML::Key << "seed" << YAML::Value << s.analysis.seed << YAML::EndMap;
  }
  if (!s.sweep.empty()) {
    e << YAML::Key << "sweep" << YAML::Value << YAML::BeginMap;
    for (const auto& a : s.sweep) {
      e << YAML::Key << a.key << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (const auto& v : a.values) e << v;
      e << YAML::EndSeq;
    }
    e << YAML::EndMap;
  }
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

}  // namespace carve
