/// `carve status RUN_DIR`: where every task of a run's plan stands, read from the run tree
/// itself (plan.json, the tasks' outputs, locks, failure records and logs), so that it answers
/// the same for a local run, `--jobs N` and a SLURM submission, with or without `squeue`.
///
///   for (const auto& s : carve::plan_status("runs/table1")) std::cout << s.task << " " << to_string(s.state);
///
/// A task is done when its last output is there (task_finished), running while a live process
/// holds its lock, failed when it recorded a failure (or, under SLURM, its log shows it ended
/// without finishing, without a checkpoint and without being requeued), else pending — waiting for its
/// dependencies, stopped at a checkpoint, requeued after preemption, or never started.
#pragma once

#include <string>
#include <vector>

#include "carve/orchestration/plan.h"

namespace carve {

/// A task's state as `carve status` shows it.
enum class TaskState { pending, running, done, failed };
std::string to_string(TaskState state);

/// One task's state and what explains it.
struct TaskStatus {
  std::string task;
  TaskState state = TaskState::pending;
  std::string detail;  ///< the holder, the failure's last log line, what it waits for
};

/// The plan frozen in a run directory: RUN_DIR/plan.json, or RUN_DIR.carve/plan.json for a
/// single run or stack, its directory RUN_DIR wherever the tree now is (copied or moved); for a
/// plain single run or stack, a plan of its one task read from its config.yaml. UsageError where
/// the directory is not a carve run.
Plan read_plan(const std::string& run_dir);

/// Every task's state, in plan order.
std::vector<TaskStatus> plan_status(const Plan& plan);

/// What `carve status` prints: a Markdown table and a count per state.
std::string status_table(const Plan& plan, const std::vector<TaskStatus>& status);

}  // namespace carve
