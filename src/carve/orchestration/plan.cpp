#include "carve/orchestration/plan.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "carve/atomic_file.h"
#include "carve/config/stack.h"
#include "carve/config/suite.h"
#include "carve/config/yaml_reader.h"
#include "carve/data/catalog.h"
#include "carve/data/file_bytes.h"
#include "carve/data/splits.h"
#include "carve/error.h"
#include "carve/orchestration/stack.h"
#include "carve/orchestration/suite.h"
#include "carve/orchestration/sweep.h"
#include "carve/orchestration/run_tree.h"
#include "carve/orchestration/task_lock.h"
#include "carve/train/run_dir.h"
#include "carve/train/stop.h"

#include <unistd.h>

namespace carve {

namespace fs = std::filesystem;

std::string to_string(TaskKind kind) {
  switch (kind) {
    case TaskKind::run: return "run";
    case TaskKind::stack: return "stack";
    case TaskKind::sweep_table: return "sweep_table";
    case TaskKind::select: return "select";
    case TaskKind::copy_winner: return "copy_winner";
    case TaskKind::suite_table: return "suite_table";
  }
  return "?";
}

namespace {

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A suite row's tasks: its sweep (points, then the choice) and its seeds.
void plan_suite_run(const Plan& plan, const SuiteRun& run, const std::vector<uint64_t>& seeds,
                    std::vector<Task>& tasks, std::vector<std::string>& seed_ids) {
  const auto file = run.file.empty() ? plan.file : run.file;
  const auto kind = !run.file.empty() && !load_stack(run.file).empty() ? TaskKind::stack : TaskKind::run;
  const auto base = with(plan.overrides, run.overrides);
  std::string select_id;
  if (!run.sweep.empty()) {
    const auto points = sweep_grid(run.sweep);
    Task select{run.name + "/select", TaskKind::select, run.name + "/sweep", file, {}, seeds.front(), {}, "", ""};
    for (size_t p = 0; p < points.size(); ++p) {
      const auto name = sweep_point_name(points[p]);
      Task t{run.name + "/sweep/" + name, kind, run.name + "/sweep/" + name, file,
             with(with(base, {fmt::format("seed={}", seeds.front())}), points[p]), seeds.front(), {}, "",
             fmt::format("suite run {}, sweep point {}/{}: {} (seed {})", run.name, p + 1, points.size(), name,
                         seeds.front())};
      t.point = points[p];
      select.depends_on.push_back(t.id);
      tasks.push_back(t);
    }
    select_id = select.id;
    tasks.push_back(select);
  }
  for (size_t k = 0; k < seeds.size(); ++k) {
    Task t{fmt::format("{}/seed-{}", run.name, seeds[k]), kind, fmt::format("{}/seed-{}", run.name, seeds[k]), file,
           with(base, {fmt::format("seed={}", seeds[k])}), seeds[k], {}, select_id,
           fmt::format("suite run {}, seed {}", run.name, seeds[k])};
    if (!select_id.empty()) {
      t.depends_on.push_back(select_id);
      // The winning point ran with the first seed already: the same configuration, copied.
      if (k == 0) t.kind = TaskKind::copy_winner, t.label.clear();
    }
    seed_ids.push_back(t.id);
    tasks.push_back(t);
  }
}

}  // namespace

Plan make_plan(const std::string& file, const std::vector<std::string>& overrides, const std::string& out) {
  const auto spec = load_experiment(file, overrides);
  const auto suite = load_suite(file);
  const auto stack = load_stack(file);
  if (static_cast<int>(!suite.runs.empty()) + static_cast<int>(!spec.sweep.empty()) + static_cast<int>(!stack.empty()) >
      1) {
    throw ConfigError(fmt::format("{}: a file holds one of a suite, a sweep or a stack", file));
  }
  Plan plan{file, overrides, out.empty() ? default_run_directory(spec) : out, spec.name, {}};
  if (!suite.runs.empty()) {
    plan_suite(file, suite, overrides);  // every run x seed and sweep point validated before any trains
    const auto seeds = suite.seeds.empty() ? std::vector<uint64_t>{spec.seed} : suite.seeds;
    Task table{"table", TaskKind::suite_table, "", file, overrides, spec.seed, {}, "", ""};
    for (const auto& run : suite.runs) plan_suite_run(plan, run, seeds, plan.tasks, table.depends_on);
    plan.tasks.push_back(table);
  } else if (!stack.empty()) {
    stack_layer_specs(file, stack, overrides);
    plan.tasks.push_back({"stack", TaskKind::stack, "", file, overrides, spec.seed, {}, "", ""});
  } else if (!spec.sweep.empty()) {
    Task table{"sweep", TaskKind::sweep_table, "", file, overrides, spec.seed, {}, "", ""};
    const auto points = sweep_points(spec);
    for (size_t i = 0; i < points.size(); ++i) {
      const auto name = sweep_point_name(points[i]);
      auto all = with(overrides, points[i]);
      Task t{"point/" + name, TaskKind::run, name, file, all, load_experiment(file, all).seed, {}, "",
             fmt::format("sweep point {}/{}: {}", i + 1, points.size(), name)};
      t.point = points[i];
      table.depends_on.push_back(t.id);
      plan.tasks.push_back(t);
    }
    plan.tasks.push_back(table);
  } else {
    plan.tasks.push_back({"run", TaskKind::run, "", file, overrides, spec.seed, {}, "", ""});
  }
  return plan;
}

namespace {

// FILE:LINE:COL of the first of the file's data.valid, data.test, data.train, data (else FILE).
std::string data_location(const std::string& file) {
  try {
    const auto root = YAML::LoadFile(file);
    const auto data = root["data"];
    if (data && data.IsMap()) {
      for (const char* key : {"valid", "test", "train"}) {
        if (data[key]) return config::location(file, data[key], std::string("data.") + key);
      }
      return config::location(file, data, "data");
    }
  } catch (const YAML::Exception&) {
  }
  return file;
}

}  // namespace

std::vector<std::string> check_data_sizes(const Plan& plan) {
  std::vector<std::string> notes;
  std::set<std::string> seen;
  for (const auto& t : plan.tasks) {
    if (t.kind != TaskKind::run && t.kind != TaskKind::stack && t.kind != TaskKind::copy_winner) continue;
    const auto spec = load_experiment(t.file, t.overrides);
    const auto& d = spec.data;
    if (!seen.insert(fmt::format("{}\n{}\n{} {} {}", d.dataset, d.dir, d.train, d.valid, d.test)).second) continue;
    DatasetSizes sizes;
    try {
      sizes = dataset_sizes(d.dataset, d.dir);
    } catch (const DataError& e) {
      notes.push_back(fmt::format("data sizes of {} not checked: {}", d.dataset, e.what()));
      continue;
    }
    try {
      check_split_sizes(d.dataset, sizes.pool, sizes.test, split_options(spec));
    } catch (const UsageError& e) {
      throw ConfigError(fmt::format("{}: {}{}", data_location(t.file), e.what(),
                                    plan.tasks.size() > 1 ? fmt::format(" (task {})", t.id) : std::string()));
    }
  }
  return notes;
}

const Task& Plan::task(const std::string& id) const {
  for (const auto& t : tasks)
    if (t.id == id) return t;
  std::vector<std::string> ids;
  for (const auto& t : tasks) ids.push_back(t.id);
  if (ids.size() > 8) ids.resize(8), ids.push_back("...");
  throw UsageError(fmt::format("{}: no task '{}' in its plan (tasks: {}; carve plan {} lists them)", file, id,
                               fmt::join(ids, ", "), file));
}

Plan plan_from_json(const nlohmann::json& j, const std::string& where) {
  try {
    Plan plan{j.at("file"), j.at("overrides"), j.at("directory"), j.at("name"), {}};
    for (const auto& t : j.at("tasks")) {
      Task task;
      task.id = t.at("id");
      const std::string kind = t.at("kind");
      bool known = false;
      for (auto k : {TaskKind::run, TaskKind::stack, TaskKind::sweep_table, TaskKind::select, TaskKind::copy_winner,
                     TaskKind::suite_table}) {
        if (to_string(k) == kind) task.kind = k, known = true;
      }
      if (!known) throw UsageError(fmt::format("{}: unknown task kind '{}'", where, kind));
      task.directory = t.at("directory");
      task.file = t.at("file");
      task.overrides = t.at("overrides").get<std::vector<std::string>>();
      task.seed = t.at("seed");
      task.depends_on = t.at("depends_on").get<std::vector<std::string>>();
      task.chosen_from = t.value("chosen_from", "");
      task.point = t.value("point", std::vector<std::string>{});
      plan.tasks.push_back(task);
    }
    return plan;
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(fmt::format("{}: not a plan carve wrote ({})", where, e.what()));
  }
}

std::string state_directory(const Plan& plan) {
  return plan.tasks.size() == 1 ? plan.directory + ".carve" : plan.directory;
}

std::string run_directory_path(std::string directory) {
  while (directory.size() > 1 && directory.back() == '/') directory.pop_back();
  return directory;
}

std::string frozen_plan_path(const std::string& run_dir) {
  const auto dir = run_directory_path(run_dir);
  for (const auto& path : {fs::path(dir) / "plan.json", fs::path(dir + ".carve") / "plan.json"}) {
    if (fs::exists(path)) return path.string();
  }
  return "";
}

std::string task_stem(const std::string& id) {
  std::string stem = id;
  std::replace(stem.begin(), stem.end(), '/', '+');
  return safe_file_name(stem);
}

std::string task_file(const Plan& plan, const Task& task, const std::string& suffix) {
  return (fs::path(state_directory(plan)) / "tasks" / (task_stem(task.id) + suffix)).string();
}

namespace {

// The file a task writes last: when it is there, the task finished.
fs::path last_output(const Plan& plan, const Task& t) {
  const fs::path dir = fs::path(plan.directory) / t.directory;
  switch (t.kind) {
    case TaskKind::select: return dir / "chosen.json";
    case TaskKind::sweep_table: return dir / "sweep.md";
    case TaskKind::suite_table: return dir / "table.md";
    default: return dir / "summary.json";
  }
}

}  // namespace

bool task_finished(const Plan& plan, const Task& task) { return fs::exists(last_output(plan, task)); }

std::vector<std::vector<const Task*>> dependency_levels(const Plan& plan) {
  std::map<std::string, size_t> level;
  std::vector<std::vector<const Task*>> levels;
  for (const auto& t : plan.tasks) {  // dependencies come first in a plan
    size_t l = 0;
    for (const auto& d : t.depends_on) l = std::max(l, level.at(d) + 1);
    level[t.id] = l;
    if (levels.size() <= l) levels.resize(l + 1);
    levels[l].push_back(&t);
  }
  return levels;
}

nlohmann::json Plan::to_json() const {
  nlohmann::json j{{"file", file}, {"overrides", overrides}, {"directory", directory}, {"name", name},
                   {"tasks", nlohmann::json::array()}};
  for (const auto& t : tasks) {
    nlohmann::json task{{"id", t.id},
                        {"kind", to_string(t.kind)},
                        {"directory", t.directory},
                        {"file", t.file},
                        {"overrides", t.overrides},
                        {"seed", t.seed},
                        {"depends_on", t.depends_on}};
    if (!t.chosen_from.empty()) task["chosen_from"] = t.chosen_from;
    if (!t.point.empty()) task["point"] = t.point;
    j["tasks"].push_back(task);
  }
  return j;
}

std::string Plan::to_table() const {
  std::string out = fmt::format("# plan of {} ({} task{}) into {}\n\n", file, tasks.size(), tasks.size() == 1 ? "" : "s",
                                directory);
  out += "| # | id | kind | directory | seed | depends on | overrides |\n|---:|---|---|---|---:|---|---|\n";
  for (size_t i = 0; i < tasks.size(); ++i) {
    const auto& t = tasks[i];
    std::vector<std::string> own(t.overrides.begin() + static_cast<std::ptrdiff_t>(std::min(overrides.size(), t.overrides.size())),
                                 t.overrides.end());
    if (!t.chosen_from.empty()) own.push_back("+ the winner of " + t.chosen_from);
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", i + 1, t.id, to_string(t.kind),
                       t.directory.empty() ? "." : t.directory, t.seed,
                       t.depends_on.empty() ? "–" : (t.depends_on.size() > 3 ? fmt::format("{} tasks", t.depends_on.size())
                                                                                 : fmt::format("{}", fmt::join(t.depends_on, ", "))),
                       own.empty() ? "–" : fmt::format("{}", fmt::join(own, ", ")));
  }
  return out;
}

namespace {

// The same tasks: ids, kinds, directories and dependencies (not values that may grow on resume).
nlohmann::json shape(const nlohmann::json& plan) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : plan["tasks"]) out.push_back({t["id"], t["kind"], t["directory"], t["depends_on"]});
  return out;
}

void freeze_plan_file(const Plan& plan) {
  const fs::path dir = state_directory(plan);
  fs::create_directories(dir);
  const auto path = dir / "plan.json";
  auto now = plan.to_json();
  // Paths inside the tree are relative to it (the tree may be copied or moved; read_plan takes
  // the directory from where plan.json is): the run directory as seen from plan.json's folder.
  now["directory"] = plan.tasks.size() == 1
                         ? (fs::path("..") / fs::path(run_directory_path(plan.directory)).filename()).string()
                         : ".";
  if (fs::exists(path)) {
    const auto was = data::read_json_file(path.string(), "plan", "use --force");
    if (shape(was) != shape(now)) {
      throw UsageError(fmt::format("{}: the file now expands into other tasks than the run's plan.json; "
                                   "resume with the same file and --set values, or --force",
                                   dir.string()));
    }
    if (was == now) return;
    // The same tasks under values that may change on resume (more epochs): the record follows.
  }
  data::write_text_file(path.string(), now.dump(2) + "\n");
}

// The winner that a select task recorded.
std::vector<std::string> chosen_point(const fs::path& select_dir) {
  const auto text = data::read_text_file((select_dir / "chosen.json").string());
  return nlohmann::json::parse(text)["point"].get<std::vector<std::string>>();
}

class Executor {
 public:
  Executor(const Plan& plan, const RunOptions& options) : plan_(plan), options_(options), base_(plan.directory) {}

  RunResult run() {
    if (plan_.tasks.size() == 1) return run_alone(options_);
    prepare_group_directory(load_experiment(plan_.file, plan_.overrides), with_out(options_));
    freeze_plan_file(plan_);
    nlohmann::json last;
    for (const auto& t : plan_.tasks) {
      if (!t.label.empty()) notify(options_.observers, t.label);
      last = execute(t);
      results_[t.id] = last;
    }
    return {base_.string(), last};
  }

  // One task alone (a run or a stack file) owns the run directory's rules itself.
  RunResult run_alone(RunOptions o) const {
    const auto& t = plan_.tasks.front();
    o.out = base_.string();
    if (t.kind == TaskKind::stack) return run_stack(t.file, load_stack(t.file), t.overrides, o);
    return run_one(load_experiment(t.file, t.overrides), o);
  }

  nlohmann::json execute(const Task& t) {
    const fs::path dir = base_ / t.directory;
    switch (t.kind) {
      case TaskKind::run: {
        auto spec = load_experiment(t.file, overrides_of(t));
        spec.sweep.clear();  // a point's configuration is the file at that point
        return run_point(spec, options_, dir.string());
      }
      case TaskKind::stack: return run_stack_task(t, dir);
      case TaskKind::copy_winner: return copy_winner(t, dir);
      case TaskKind::select: {
        auto done = points_of(t);
        rank_sweep(done, fmt::format("{}: {}, chosen on the validation split", plan_.name,
                                     t.id.substr(0, t.id.rfind('/'))),
                   dir.string(), options_.observers);
        // The choice is frozen once made: the seeds ran at it. Points that grew on --resume are
        // ranked again in the sweep's table above, but chosen.json keeps the first choice.
        if (options_.resume && fs::exists(dir / "chosen.json")) return {{"chosen", chosen_point(dir)}};
        data::write_text_file((dir / "chosen.json").string(),
                              nlohmann::json{{"point", done.front().point}}.dump(2) + "\n");
        return {{"chosen", done.front().point}};
      }
      case TaskKind::sweep_table: {
        auto done = points_of(t);
        return {{"sweep", rank_sweep(done, "Sweep " + plan_.name, dir.string(), options_.observers)}};
      }
      case TaskKind::suite_table: return suite_table_task(t);
    }
    return {};
  }

 private:
  RunOptions with_out(RunOptions o) const {
    o.out = base_.string();
    return o;
  }

  std::vector<std::string> overrides_of(const Task& t) const {
    if (t.chosen_from.empty()) return t.overrides;
    return with(t.overrides, chosen_point(base_ / plan_.task(t.chosen_from).directory));
  }

  std::vector<SweepResult> points_of(const Task& t) const {
    std::vector<SweepResult> done;
    for (const auto& id : t.depends_on) done.push_back({plan_.task(id).point, result_of(id)});
    return done;
  }

  // A dependency's result: from this process, or read back from the run tree (another process ran it).
  nlohmann::json result_of(const std::string& id) const {
    const auto found = results_.find(id);
    return found != results_.end() ? found->second : task_result(plan_, plan_.task(id));
  }

  nlohmann::json run_stack_task(const Task& t, const fs::path& dir) {
    const auto all = overrides_of(t);
    const auto layers = load_stack(t.file);
    if (options_.resume && fs::exists(dir / "summary.json")) {
      check_finished_stack(dir.string(), load_experiment(t.file, all), stack_layer_specs(t.file, layers, all), layers);
      return read_summary(dir.string());
    }
    RunOptions o = options_;
    o.out = dir.string();
    o.force = false;
    o.resume = options_.resume && fs::exists(dir);
    return run_stack(t.file, layers, all, o).summary;
  }

  nlohmann::json copy_winner(const Task& t, const fs::path& dir) {
    const auto sweep_dir = base_ / plan_.task(t.chosen_from).directory;
    const auto winner = sweep_dir / sweep_point_name(chosen_point(sweep_dir));
    if (!fs::exists(dir / "summary.json")) {
      fs::remove_all(dir);  // a copy that did not finish: the winner is whole
      copy_directory_atomically(winner.string(), dir.string());
      return read_summary(dir.string());
    }
    // Copied before: read back, or continued from its checkpoint (the winner's) where the run
    // grew since, as the winner itself is. A stack does not grow (nor does a single stack).
    if (!load_stack(t.file).empty()) return read_summary(dir.string());
    auto spec = load_experiment(t.file, overrides_of(t));
    spec.sweep.clear();
    return run_point(spec, options_, dir.string());
  }

  nlohmann::json suite_table_task(const Task& t) {
    const auto suite = load_suite(plan_.file);
    std::vector<SuiteRow> rows;
    for (const auto& run : suite.runs) {
      SuiteRow row{&run, {}, {}, {}};
      for (const auto& id : t.depends_on) {
        if (id.rfind(run.name + "/seed-", 0) == 0) {
          row.summaries.push_back(result_of(id));
          row.directories.push_back((base_ / plan_.task(id).directory).string());
        }
      }
      for (const auto& task : plan_.tasks) {
        if (task.kind == TaskKind::select && task.id == run.name + "/select") row.chosen = chosen_point(base_ / task.directory);
      }
      rows.push_back(row);
    }
    std::vector<uint64_t> seeds;
    for (const auto& task : plan_.tasks)
      if (task.id.rfind(suite.runs.front().name + "/seed-", 0) == 0) seeds.push_back(task.seed);
    return {{"table", write_suite_table(base_.string(), plan_.name, seeds, rows, options_.observers)}};
  }

  const Plan& plan_;
  RunOptions options_;
  fs::path base_;
  std::map<std::string, nlohmann::json> results_;
};

}  // namespace

RunResult execute_plan(const Plan& plan, const RunOptions& options) {
  check_run_target(plan, options);  // before anything is written
  return Executor(plan, options).run();
}

nlohmann::json task_result(const Plan& plan, const Task& task) {
  const fs::path dir = fs::path(plan.directory) / task.directory;
  switch (task.kind) {
    case TaskKind::select: return {{"chosen", chosen_point(dir)}};
    case TaskKind::sweep_table:
    case TaskKind::suite_table: return {{"table", last_output(plan, task).string()}};
    default: return read_summary(dir.string());
  }
}

void record_task_failure(const Plan& plan, const Task& task, const std::string& message) {
  const nlohmann::json record{{"task", task.id}, {"message", message}, {"host", host_name()},
                              {"pid", static_cast<long>(::getpid())}};
  try {
    data::write_text_file(task_file(plan, task, ".failed"), record.dump(2) + "\n");
  } catch (const std::exception&) {
    // The failure itself is reported by the caller; a record that cannot be written adds nothing.
  }
}

void prepare_plan(const Plan& plan, const RunOptions& options) {
  check_run_target(plan, options);  // before anything is written
  if (plan.tasks.size() > 1) {
    prepare_group_directory(load_experiment(plan.file, plan.overrides), options);
  } else if (fs::exists(plan.directory) && !options.resume) {
    if (!options.force) {
      throw UsageError(fmt::format("{} exists; use --resume to continue it or --force to start again", plan.directory));
    }
    fs::remove_all(plan.directory);
    fs::remove_all(state_directory(plan));
  }
  fs::create_directories(fs::path(state_directory(plan)) / "tasks");
  freeze_plan_file(plan);
}

RunResult execute_task(const Plan& plan, const std::string& id, const RunOptions& options) {
  const auto& task = plan.task(id);
  if (options.force) throw UsageError("--task continues or starts one task; --force is for a whole run (carve run FILE --force)");
  RunOptions o = options;
  o.resume = true;  // a finished task is read back, a half-done one resumes
  o.out = plan.directory;
  prepare_plan(plan, o);
  std::vector<std::string> waiting;
  for (const auto& d : task.depends_on)
    if (!task_finished(plan, plan.task(d))) waiting.push_back(d);
  if (!waiting.empty()) {
    throw UsageError(fmt::format("task {} waits for {} unfinished task{}: {} (carve status {})", id, waiting.size(),
                                 waiting.size() == 1 ? "" : "s", fmt::join(waiting, ", "), plan.directory));
  }
  const auto lock = TaskLock::acquire(task_file(plan, task, ".lock"), id);
  fs::remove(task_file(plan, task, ".failed"));
  fs::remove(task_file(plan, task, ".requeued"));
  try {
    Executor executor(plan, o);
    if (plan.tasks.size() == 1) {
      const fs::path dir(plan.directory);
      o.resume = fs::exists(dir);
      if (o.resume && task_finished(plan, task)) return {plan.directory, task_result(plan, task)};
      return executor.run_alone(o);
    }
    if (!task.label.empty()) notify(o.observers, task.label);
    return {task.directory.empty() ? plan.directory : (fs::path(plan.directory) / task.directory).string(),
            executor.execute(task)};
  } catch (const Interrupted&) {
    throw;
  } catch (const c10::Error& e) {
    record_task_failure(plan, task, e.what_without_backtrace());
    throw;
  } catch (const std::exception& e) {
    record_task_failure(plan, task, e.what());
    throw;
  }
}

}  // namespace carve
