/// `carve run FILE --jobs N`: the tasks of a plan, N at a time, each in a process of its own
/// (the random generator and the thread count are process-wide, so two runs cannot share one
/// process and stay reproducible). A task starts once its dependencies have finished; each
/// child runs `carve run FILE --task ID` (execute_task), its output in RUN_DIR/tasks/<id>.log.
/// The results are those of `--jobs 1` with the same threads per task: each task is the same
/// computation, from the same seed, with the same thread count.
///
///   carve::execute_parallel(plan, options, 2, [&](const carve::Task& t) {
///     return std::vector<std::string>{"/usr/bin/carve", "--threads", "1", "run", file, "--task", t.id};
///   });
///
/// On a stop request (SIGINT, SIGTERM) the running children are sent the same signal, each
/// checkpoints, and Interrupted is thrown once all have ended; `--resume` continues. When a task
/// fails, no new task starts, the running ones finish, and the failure is thrown (TaskFailed)
/// with the task's last log line.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "carve/orchestration/plan.h"

namespace carve {

/// A task that ended with a non-zero exit status in its own process.
class TaskFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The command line (argv, program first) that runs one task in a process of its own.
using TaskCommand = std::function<std::vector<std::string>(const Task&)>;

/// Prepares the run directory (its --resume/--force rules) and plan.json, then runs the plan's
/// tasks `jobs` at a time as processes; returns the last task's result, read back.
RunResult execute_parallel(const Plan& plan, const RunOptions& options, int jobs, const TaskCommand& command);

/// The last non-empty line of a text file ("" when there is none).
std::string last_line(const std::string& path);

}  // namespace carve
