#include "carve/config/experiment.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "carve/config/experiment_schema.h"
#include "carve/config/yaml_reader.h"
#include "carve/data/file_bytes.h"
#include "carve/error.h"

namespace carve {

namespace {

using config::MapReader;

ExperimentSpec read_experiment(const std::string& text, const std::string& file,
                               const std::vector<std::string>& overrides) {
  YAML::Node root = config::parse_yaml(text, file);
  if (!root.IsDefined() || root.IsNull()) throw ConfigError(file, 1, 1, "the file is empty");
  auto overridden = std::make_shared<std::set<std::string>>();
  for (const auto& o : overrides) overridden->insert(config::apply_override(root, o));
  MapReader r(root, file, "", overridden);
  ExperimentSpec s;
  s.file = file;
  s.overrides = overrides;
  config::experiment_table().read(r, s);
  const YAML::Node& const_root = root;
  s.data.dataset = config::resolve_data_paths(
      s.data.dataset, file, config::location(file, const_root["data"]["dataset"], "data.dataset", overridden.get()) + ": data.dataset");
  // Every sweep point must be valid before anything runs: the file without its sweep block, at
  // each point.
  const auto points = sweep_points(s);
  if (points.empty() || points.front().empty()) return s;
  YAML::Node without_sweep = config::parse_yaml(text, file);
  without_sweep.remove("sweep");
  std::stringstream base;
  base << without_sweep;
  for (const auto& point : points) {
    auto all = overrides;
    all.insert(all.end(), point.begin(), point.end());
    try {
      parse_experiment(base.str(), file, all);
    } catch (const ConfigError& e) {
      // An error of a swept key is located at the key in the sweep block, not as a --set.
      throw ConfigError(fmt::format("{} (sweep point {})", config::relocate_overrides(e.what(), sweep_origins(s.sweep)),
                                    fmt::join(point, ", ")));
    }
  }
  return s;
}

}  // namespace

// A yaml-cpp exception that escapes the reader (a node of another kind than expected) becomes a
// ConfigError here, for files, run directories' config.yaml and texts alike.
ExperimentSpec parse_experiment(const std::string& text, const std::string& file,
                                const std::vector<std::string>& overrides) {
  return config::guard_yaml(file, [&] { return read_experiment(text, file, overrides); });
}

ExperimentSpec load_experiment(const std::string& file, const std::vector<std::string>& overrides) {
  return parse_experiment(config::read_yaml_text(file), file, overrides);
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
    axis.origin = config::location(file, kv.first, at);
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

std::map<std::string, std::string> sweep_origins(const std::vector<SweepAxis>& axes) {
  std::map<std::string, std::string> origins;
  for (const auto& axis : axes) origins[axis.key] = axis.origin;
  return origins;
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
  config::experiment_table().write(e, s);
  return std::string(e.c_str()) + "\n";
}

}  // namespace carve
