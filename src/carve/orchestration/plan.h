/// The task plan: what an experiment file expands into — one run, the points of a sweep, the
/// layers of a stack, or a suite's sweeps, seeds and table — as a list of tasks with ids, run
/// directories, resolved overrides, seeds and the tasks each depends on. Local execution (one
/// task after another), and later `--jobs N` and SLURM arrays, execute the same plan, so their
/// results are the same.
///
/// Some tasks are late-bound: a suite run with a sweep chooses its hyperparameters on the
/// validation split, so its seeds run at the winner of a sweep that has not run yet. Choosing
/// the winner is a task of its own (`select`, which writes `<run>/sweep/chosen.json`), and the
/// seed tasks name it in `chosen_from` and read its result when they run.
///
///   carve::Plan plan = carve::make_plan("experiments/paper/table1-mnist.yaml", {});
///   std::cout << plan.to_table();                 // what `carve plan FILE` prints
///   carve::RunResult r = carve::execute_plan(plan, options);
///
/// The plan is frozen as RUN_DIR/plan.json when a file first runs; `--resume` refuses a file
/// whose plan no longer has the same tasks (ids, kinds, directories, dependencies).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "carve/train/trainer.h"

namespace carve {

/// What a task does.
enum class TaskKind {
  run,          ///< one training run (a single file, a sweep point, a suite seed)
  stack,        ///< a stack file: its layers, then the stack's encoder and fine-tuning
  sweep_table,  ///< rank a sweep's points: sweep.md, sweep.csv
  select,       ///< rank a suite run's sweep and record the winner (chosen.json)
  copy_winner,  ///< a suite run's first seed: the sweep's winner, which ran with that seed
  suite_table,  ///< the suite's table.md, table.csv
};
std::string to_string(TaskKind kind);

/// One task of a plan.
struct Task {
  std::string id;                       ///< unique, path-like: "CAE/seed-2", "point/contractive.weight=0.1"
  TaskKind kind = TaskKind::run;
  std::string directory;                ///< relative to the plan's directory ("" = the directory itself)
  std::string file;                     ///< the experiment file the task reads
  std::vector<std::string> overrides;   ///< key=value, the file's --set ones first
  uint64_t seed = 0;
  std::vector<std::string> depends_on;  ///< ids of tasks that must finish first
  std::string chosen_from;              ///< a select task whose winner's overrides apply too
  std::string label;                    ///< printed when it starts ("sweep point 1/3: ...")
  std::vector<std::string> point;       ///< a sweep point's own overrides (what it is ranked as)
};

/// Every task of a file, in an order that respects the dependencies.
struct Plan {
  std::string file;
  std::vector<std::string> overrides;
  std::string directory;  ///< the run directory
  std::string name;       ///< the file's `name`
  std::vector<Task> tasks;

  nlohmann::json to_json() const;
  std::string to_table() const;
  const Task& task(const std::string& id) const;
};

/// Expands and validates a file (every task's configuration, before anything runs). `out` is the
/// run directory ("" = runs/<name>). Throws ConfigError / UsageError.
Plan make_plan(const std::string& file, const std::vector<std::string>& overrides, const std::string& out = "");

/// Runs every task in order, reading back finished ones on `--resume`; writes RUN_DIR/plan.json
/// the first time. The result is the last task's (the table of a suite or sweep, the summary of a
/// single run). A stop request (carve/train/stop.h) ends it with Interrupted, the task it stopped
/// in checkpointed; `--resume` continues from there.
RunResult execute_plan(const Plan& plan, const RunOptions& options);

}  // namespace carve
