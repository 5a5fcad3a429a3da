/// The task plan: what an experiment file expands into — one run, the points of a sweep, a
/// stack, or a suite's sweeps, seeds and table — as a list of tasks with ids, run directories,
/// resolved overrides, seeds and the tasks each depends on. Local execution (one task after
/// another), `--jobs N` (orchestration/parallel.h) and SLURM arrays (orchestration/slurm.h)
/// execute the same plan, task by task through execute_task, so their results are the same.
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

/// `carve check`: every task's split sizes against its dataset's sizes, read from the files'
/// headers (data/catalog.h) without loading them. A misfit is a ConfigError at the file's `data`
/// keys; a dataset that cannot be read yet (not fetched) is returned as a note, not an error.
std::vector<std::string> check_data_sizes(const Plan& plan);

/// Reads a plan frozen as JSON (RUN_DIR/plan.json); UsageError if it is not one.
Plan plan_from_json(const nlohmann::json& json, const std::string& where);

/// Where a plan keeps its own files — plan.json, tasks/ (locks, failure records, logs) and
/// slurm/: the run directory for a plan of several tasks; for a single run or stack, whose
/// directory is the run's own, the sibling RUN_DIR.carve/.
std::string state_directory(const Plan& plan);
/// A run directory as given, without trailing slashes: "runs/x/" names runs/x, whose single run
/// keeps its state beside it in runs/x.carve/.
std::string run_directory_path(std::string directory);
/// Where a run tree's frozen plan is — RUN_DIR/plan.json (a sweep or suite), else
/// RUN_DIR.carve/plan.json (a single run or stack that --task, --jobs or carve submit started) —,
/// or "" when it has none.
std::string frozen_plan_path(const std::string& run_dir);
/// The file name stem of a task's lock, log and records: its id with '/' as '+'.
std::string task_stem(const std::string& id);
/// RUN_DIR/tasks/<stem><suffix> (suffix ".lock", ".failed", ".log", ".requeued").
std::string task_file(const Plan& plan, const Task& task, const std::string& suffix);
/// Whether a task's outputs are all there: a run's or stack's summary.json, a choice's
/// chosen.json, a table's Markdown (each written last).
bool task_finished(const Plan& plan, const Task& task);
/// A finished task's result, read back from its directory (what execute_plan returns for it).
nlohmann::json task_result(const Plan& plan, const Task& task);
/// The dependency levels: level 0 depends on nothing, level k only on levels below k. One SLURM
/// job array each.
std::vector<std::vector<const Task*>> dependency_levels(const Plan& plan);

/// Prepares a plan's directories for its tasks to run in other processes (`--jobs`, `carve
/// submit`): the run directory's --resume / --force rules, the state directory, plan.json (a
/// plan that no longer matches the frozen one is refused).
void prepare_plan(const Plan& plan, const RunOptions& options);

/// Runs one task of the plan (`carve run FILE --task ID`), in its own process or not: a
/// finished task is read back, a half-done one resumes from its checkpoint, a stopped or failed
/// one starts again. Refuses (UsageError, exit 2) a task whose dependencies have not finished,
/// naming them, and one that another process is running (a TaskLock in RUN_DIR/tasks/). A
/// failure is recorded in RUN_DIR/tasks/<stem>.failed (for `carve status`) and rethrown.
RunResult execute_task(const Plan& plan, const std::string& id, const RunOptions& options);

/// Records that a task failed (RUN_DIR/tasks/<stem>.failed: the message, host, pid), for `carve status`.
void record_task_failure(const Plan& plan, const Task& task, const std::string& message);

/// Runs every task in order, reading back finished ones on `--resume`; writes RUN_DIR/plan.json
/// the first time. The result is the last task's (the table of a suite or sweep, the summary of a
/// single run). A stop request (carve/train/stop.h) ends it with Interrupted, the task it stopped
/// in checkpointed; `--resume` continues from there.
RunResult execute_plan(const Plan& plan, const RunOptions& options);

}  // namespace carve
