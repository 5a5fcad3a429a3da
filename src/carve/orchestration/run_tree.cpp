#include "carve/orchestration/run_tree.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>

#include "carve/data/file_bytes.h"
#include "carve/error.h"

namespace carve {

namespace fs = std::filesystem;

namespace {

// The shape of a plan from its tasks' kinds (as plan.json spells them).
std::string shape_of(const std::vector<std::string>& kinds) {
  const auto has = [&](TaskKind k) { return std::find(kinds.begin(), kinds.end(), to_string(k)) != kinds.end(); };
  return has(TaskKind::suite_table)                     ? "suite"
         : has(TaskKind::sweep_table)                   ? "sweep"
         : (has(TaskKind::stack) && kinds.size() == 1) ? "stack"
                                                        : "single run";
}

}  // namespace

std::string plan_shape(const Plan& plan) {
  std::vector<std::string> kinds;
  for (const auto& t : plan.tasks) kinds.push_back(to_string(t.kind));
  return shape_of(kinds);
}

std::string RunTreeIdentity::describe() const { return fmt::format("the {} '{}' ({})", shape, name, source); }

std::optional<RunTreeIdentity> identify_run_tree(const std::string& directory, const std::string& refusing) {
  const auto dir = run_directory_path(directory);
  std::error_code ec;
  if (!fs::exists(dir, ec)) return std::nullopt;
  if (!fs::is_directory(dir, ec)) {
    throw UsageError(fmt::format("{}: not a directory; {}", dir, refusing));
  }
  if (const auto plan = frozen_plan_path(dir); !plan.empty()) {
    const auto j = data::read_json_file(plan, "plan", refusing);
    if (!j.contains("tasks") || !j["tasks"].is_array() || !j.contains("name") || !j["name"].is_string()) {
      throw UsageError(fmt::format("{}: not a plan carve wrote (no tasks or name); {}", plan, refusing));
    }
    std::vector<std::string> kinds;
    for (const auto& t : j["tasks"]) kinds.push_back(t.value("kind", ""));
    return RunTreeIdentity{shape_of(kinds), j["name"].get<std::string>(), plan};
  }
  const auto config = fs::path(dir) / "config.yaml";
  if (fs::exists(config)) {
    try {
      const auto yaml = YAML::LoadFile(config.string());
      const auto name = yaml["name"] ? yaml["name"].as<std::string>() : std::string("?");
      return RunTreeIdentity{yaml["stack"] ? "stack" : "single run", name, config.string()};
    } catch (const YAML::Exception& e) {
      throw UsageError(fmt::format("{}: not a configuration carve wrote ({}); {}", config.string(), e.what(), refusing));
    }
  }
  // Empty, or only the state carve keeps before its plan.json (task locks and logs, SLURM scripts).
  bool only_state = true;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const auto name = entry.path().filename().string();
    only_state = only_state && entry.is_directory() && (name == "tasks" || name == "slurm");
  }
  if (only_state) return std::nullopt;
  throw UsageError(fmt::format("{}: holds files carve did not write (no plan.json, no config.yaml); {}", dir, refusing));
}

void check_run_target(const Plan& plan, const RunOptions& options) {
  if (!options.resume && !options.force) return;  // a new run refuses an existing directory itself
  const auto shape = plan_shape(plan);
  const auto asked = fmt::format("the {} '{}' ({})", shape, plan.name, plan.file);
  if (options.resume) {
    const auto there = identify_run_tree(
        plan.directory, "--resume continues only a run carve made there (choose another --out)");
    if (!there) return;  // nothing yet: it starts (a single run says there is nothing to resume)
    if (there->shape != shape || there->name != plan.name) {
      throw UsageError(fmt::format("{}: holds {}, not {}: --resume continues only the experiment that made a "
                                   "directory (choose another --out, or --force to replace it)",
                                   run_directory_path(plan.directory), there->describe(), asked));
    }
    return;
  }
  const auto there = identify_run_tree(
      plan.directory, "--force replaces only a run directory carve made (remove it yourself, or choose another --out)");
  if (there) {
    notify(options.observers,
           fmt::format("{}: replacing {} with {} (--force)", run_directory_path(plan.directory), there->describe(), asked));
  }
}

}  // namespace carve
