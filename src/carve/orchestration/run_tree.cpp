#include "carve/orchestration/run_tree.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>

#include "carve/data/file_bytes.h"
#include "carve/error.h"

namespace carve {

namespace fs = std::filesystem;

namespace {

std::string shape_of_tasks(const nlohmann::json& tasks) {
  bool sweep = false, suite = false, stack = false;
  for (const auto& t : tasks) {
    const auto kind = t.value("kind", "");
    suite = suite || kind == to_string(TaskKind::suite_table);
    sweep = sweep || kind == to_string(TaskKind::sweep_table);
    stack = stack || kind == to_string(TaskKind::stack);
  }
  return suite ? "suite" : sweep ? "sweep" : (stack && tasks.size() == 1) ? "stack" : "single run";
}

std::string without_trailing_slash(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

}  // namespace

std::string plan_shape(const Plan& plan) { return shape_of_tasks(plan.to_json()["tasks"]); }

std::string RunTreeIdentity::describe() const { return fmt::format("the {} '{}' ({})", shape, name, source); }

std::optional<RunTreeIdentity> identify_run_tree(const std::string& directory, const std::string& refusing) {
  const auto dir = without_trailing_slash(directory);
  std::error_code ec;
  if (!fs::exists(dir, ec)) return std::nullopt;
  if (!fs::is_directory(dir, ec)) {
    throw UsageError(fmt::format("{}: not a directory; {}", dir, refusing));
  }
  for (const auto& plan : {fs::path(dir) / "plan.json", fs::path(dir + ".carve") / "plan.json"}) {
    if (!fs::exists(plan)) continue;
    try {
      const auto j = nlohmann::json::parse(data::read_text_file(plan.string()));
      return RunTreeIdentity{shape_of_tasks(j.at("tasks")), j.at("name").get<std::string>(), plan.string()};
    } catch (const nlohmann::json::exception& e) {
      throw UsageError(fmt::format("{}: not a plan carve wrote ({}); {}", plan.string(), e.what(), refusing));
    }
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
  const auto asked = fmt::format("the {} '{}' ({})", plan_shape(plan), plan.name, plan.file);
  if (options.resume) {
    const auto there = identify_run_tree(
        plan.directory, "--resume continues only a run carve made there (choose another --out)");
    if (!there) return;  // nothing yet: it starts (a single run says there is nothing to resume)
    if (there->shape != plan_shape(plan) || there->name != plan.name) {
      throw UsageError(fmt::format("{}: holds {}, not {}: --resume continues only the experiment that made a "
                                   "directory (choose another --out, or --force to replace it)",
                                   without_trailing_slash(plan.directory), there->describe(), asked));
    }
    return;
  }
  const auto there = identify_run_tree(
      plan.directory, "--force replaces only a run directory carve made (remove it yourself, or choose another --out)");
  if (there) {
    notify(options.observers,
           fmt::format("{}: replacing {} with {} (--force)", without_trailing_slash(plan.directory), there->describe(), asked));
  }
}

}  // namespace carve
