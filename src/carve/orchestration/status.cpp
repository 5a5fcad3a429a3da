#include "carve/orchestration/status.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <map>
#include <set>

#include "carve/data/file_bytes.h"
#include "carve/error.h"
#include "carve/orchestration/parallel.h"
#include "carve/orchestration/run_tree.h"
#include "carve/orchestration/slurm.h"
#include "carve/orchestration/task_lock.h"

namespace carve {

namespace fs = std::filesystem;

std::string to_string(TaskState state) {
  switch (state) {
    case TaskState::pending: return "pending";
    case TaskState::running: return "running";
    case TaskState::done: return "done";
    case TaskState::failed: return "failed";
  }
  return "?";
}

Plan read_plan(const std::string& run_dir) {
  const auto dir = run_directory_path(run_dir);
  if (const auto path = frozen_plan_path(dir); !path.empty()) {
    auto plan = plan_from_json(data::read_json_file(path, "plan"), path);
    // The tree is where its plan.json is, wherever it was made or moved to: every task's directory
    // is relative to it (the directory recorded in plan.json is the one it was made with).
    plan.directory = dir;
    return plan;
  }
  // A plain single run or stack (run in one process, no --task): its config.yaml says which.
  if (const auto there = identify_run_tree(dir, "carve status reads carve's run directories")) {
    const auto kind = there->shape == "stack" ? TaskKind::stack : TaskKind::run;
    Plan plan{"", {}, dir, there->name, {}};
    plan.tasks.push_back({kind == TaskKind::stack ? "stack" : "run", kind, "", "", {}, 0, {}, "", ""});
    return plan;
  }
  throw UsageError(fmt::format("{}: no plan.json here (nor in {}.carve/), no config.yaml: not a carve run directory",
                               run_dir, dir));
}

std::vector<TaskStatus> plan_status(const Plan& plan) {
  const auto logs = slurm_logs(plan);  // task id -> its latest SLURM log, where it was submitted
  std::map<std::string, TaskState> states;
  std::set<std::string> failed_or_blocked;  // what the tasks after them wait for in vain
  std::vector<TaskStatus> out;
  for (const auto& t : plan.tasks) {
    TaskStatus s{t.id, TaskState::pending, ""};
    const fs::path dir = fs::path(plan.directory) / t.directory;
    const auto requeued = task_file(plan, t, ".requeued");
    const auto failed = task_file(plan, t, ".failed");
    const auto log = logs.count(t.id) ? logs.at(t.id) : task_file(plan, t, ".log");
    if (task_finished(plan, t)) {
      s.state = TaskState::done;
    } else if (const auto holder = TaskLock::holder(task_file(plan, t, ".lock")); !holder.empty()) {
      s.state = TaskState::running;
      s.detail = holder;
    } else if (fs::exists(failed)) {
      s.state = TaskState::failed;
      try {
        s.detail = nlohmann::json::parse(data::read_text_file(failed)).value("message", "");
      } catch (const std::exception&) {
        s.detail = "(unreadable failure record " + failed + ")";
      }
      if (fs::exists(log)) s.detail += fmt::format(" (log: {})", log);
    } else if (fs::exists(requeued)) {
      s.detail = "requeued after preemption, resumes from its checkpoint";
    } else if (const auto last = logs.count(t.id) ? last_line(log) : std::string();
               !last.empty() && !fs::exists(dir / "checkpoint.pt")) {
      // Under SLURM: it started, is not running, did not finish and recorded nothing (killed:
      // time limit, memory, node failure).
      s.state = TaskState::failed;
      s.detail = fmt::format("{} (log: {})", last, log);
    } else {
      std::vector<std::string> blocked, waiting;
      for (const auto& d : t.depends_on) {
        if (failed_or_blocked.count(d)) blocked.push_back(d);
        else if (states.at(d) != TaskState::done) waiting.push_back(d);
      }
      if (!blocked.empty()) {
        s.detail = fmt::format("will not start: {} failed", fmt::join(blocked, ", "));
        failed_or_blocked.insert(t.id);
      } else if (!waiting.empty()) {
        s.detail = fmt::format("waits for {} task{}", waiting.size(), waiting.size() == 1 ? "" : "s");
      } else if (fs::exists(dir / "checkpoint.pt")) {
        s.detail = "stopped at a checkpoint; resumes";
      }
    }
    if (s.state == TaskState::failed) failed_or_blocked.insert(t.id);
    states[t.id] = s.state;
    out.push_back(s);
  }
  return out;
}

std::string status_table(const Plan& plan, const std::vector<TaskStatus>& status) {
  std::map<TaskState, int> count;
  for (const auto& s : status) ++count[s.state];
  std::string out = fmt::format("# {}: {} task{}: {} done, {} running, {} pending, {} failed\n\n", plan.directory,
                                status.size(), status.size() == 1 ? "" : "s", count[TaskState::done],
                                count[TaskState::running], count[TaskState::pending], count[TaskState::failed]);
  out += "| task | state | detail |\n|---|---|---|\n";
  for (const auto& s : status) {
    out += fmt::format("| {} | {} | {} |\n", s.task, to_string(s.state), s.detail.empty() ? "–" : s.detail);
  }
  return out;
}

}  // namespace carve
