#include "carve/config/stack.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "carve/config/yaml_reader.h"
#include "carve/error.h"

namespace carve {

namespace {
std::vector<std::vector<std::string>> read_stack(const std::string& file);
}

std::vector<std::vector<std::string>> load_stack(const std::string& file) {
  return config::guard_yaml(file, [&] { return read_stack(file); });
}

namespace {

std::vector<std::vector<std::string>> read_stack(const std::string& file) {
  const YAML::Node root = config::load_yaml_file(file);
  std::vector<std::vector<std::string>> layers;
  if (!root.IsMap() || !root["stack"].IsDefined()) return layers;
  const auto stack = root["stack"];
  if (!stack.IsSequence() || stack.size() == 0) {
    throw ConfigError(fmt::format("{}: stack: expected a non-empty list of layers", config::location(file, stack, "stack")));
  }
  for (size_t i = 0; i < stack.size(); ++i) {
    const auto layer = stack[i];
    const auto where = fmt::format("stack[{}]", i);
    if (!layer.IsMap()) throw ConfigError(fmt::format("{}: {}: expected a mapping of key paths to values", config::location(file, layer, where), where));
    std::vector<std::string> overrides;
    for (const auto& kv : layer) {
      const auto key = kv.first.as<std::string>();
      if (key.rfind("data.", 0) == 0 || key == "data") {
        throw ConfigError(fmt::format("{}: {}: '{}': a layer trains on the codes of the layer below, it cannot change the data",
                                      config::location(file, kv.first, where), where, key));
      }
      if (!kv.second.IsScalar()) {
        throw ConfigError(fmt::format("{}: {}: the value of '{}' must be a scalar", config::location(file, kv.second, where), where, key));
      }
      overrides.push_back(key + "=" + kv.second.Scalar());
    }
    layers.push_back(overrides);
  }
  return layers;
}

}  // namespace

std::string stack_yaml(const std::vector<std::vector<std::string>>& layers) {
  if (layers.empty()) return "";
  YAML::Emitter e;
  e << YAML::BeginMap << YAML::Key << "stack" << YAML::Value << YAML::BeginSeq;
  for (const auto& layer : layers) {
    e << YAML::Flow << YAML::BeginMap;
    for (const auto& a : layer) {
      const auto eq = a.find('=');
      e << YAML::Key << a.substr(0, eq) << YAML::Value << a.substr(eq + 1);
    }
    e << YAML::EndMap;
  }
  e << YAML::EndSeq << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

}  // namespace carve
