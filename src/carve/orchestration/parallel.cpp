#include "carve/orchestration/parallel.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "carve/data/file_bytes.h"
#include "carve/error.h"
#include "carve/orchestration/sweep.h"
#include "carve/train/stop.h"

extern char** environ;

namespace carve {

namespace fs = std::filesystem;

std::string last_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    // A progress bar rewrites its line with carriage returns: its last state is what counts.
    const auto cr = line.find_last_of('\r', line.size() > 1 ? line.size() - 2 : 0);
    if (cr != std::string::npos && cr + 1 < line.size()) line = line.substr(cr + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) last = line;
  }
  return last;
}

namespace {

pid_t spawn(const std::vector<std::string>& argv, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // Each child in a process group of its own: a terminal's Ctrl-C reaches only this process,
  // which passes the signal on to each child once (a child signalled twice, or before its handlers
  // are installed, would die of it rather than checkpoint).
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0], &actions, &attributes, args.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw TaskFailed(fmt::format("cannot start {}: {}", argv[0], std::strerror(rc)));
  return pid;
}

// The stop signal that ended a child — it exited 128 + SIGINT, SIGTERM or SIGUSR1 after its
// checkpoint, or died of one before its handlers were installed —, else 0.
int stopped_by(int status) {
  for (const int signal : {SIGINT, SIGTERM, SIGUSR1}) {
    if ((WIFEXITED(status) && WEXITSTATUS(status) == 128 + signal) || (WIFSIGNALED(status) && WTERMSIG(status) == signal)) {
      return signal;
    }
  }
  return 0;
}

}  // namespace

RunResult execute_parallel(const Plan& plan, const RunOptions& options, int jobs, const TaskCommand& command) {
  TORCH_CHECK(jobs >= 1, "execute_parallel: jobs must be at least 1, got ", jobs);
  prepare_plan(plan, options);

  std::set<std::string> finished, started;
  std::map<pid_t, const Task*> running;
  std::string failure;
  int stop_signal = 0;  // a stop request to this process, passed on to the children
  int child_stop = 0;   // a child stopped by a signal sent to it alone: start nothing more
  const auto ready = [&](const Task& t) {
    if (started.count(t.id)) return false;
    for (const auto& d : t.depends_on)
      if (!finished.count(d)) return false;
    return true;
  };
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    if (stop_signal == 0 && (stop_signal = stop_requested()) != 0) {
      for (const auto& [pid, task] : running) kill(pid, stop_signal);  // each checkpoints where it is
    }
    if (failure.empty() && stop_signal == 0 && child_stop == 0) {
      for (const auto& t : plan.tasks) {
        if (static_cast<int>(running.size()) >= jobs) break;
        if (!ready(t)) continue;
        const auto log = task_file(plan, t, ".log");
        started.insert(t.id);
        running[spawn(command(t), log)] = &t;
        notify(options.observers, fmt::format("task {} started (log: {})", t.id, log));
      }
    }
    if (running.empty()) break;
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    const auto found = running.find(pid);
    if (found == running.end()) continue;
    const Task& t = *found->second;
    running.erase(found);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      finished.insert(t.id);
      notify(options.observers, fmt::format("task {} done ({:.1f} s into the run)", t.id, seconds));
    } else if (const int by = stopped_by(status); by != 0) {
      // Stopped, not failed: it checkpointed (or had not started training), and --resume continues it.
      notify(options.observers, fmt::format("task {} stopped by {}{}", t.id, signal_name(by),
                                            WIFEXITED(status) ? " at a checkpoint" : " before its first checkpoint"));
      if (child_stop == 0) child_stop = by;
    } else if (failure.empty()) {
      const auto log = task_file(plan, t, ".log");
      const auto how = WIFEXITED(status) ? fmt::format("exit status {}", WEXITSTATUS(status))
                                         : fmt::format("signal {}", WTERMSIG(status));
      failure = fmt::format("task {} failed ({}): {} (log: {})", t.id, how, last_line(log), log);
      notify(options.observers, failure + "; waiting for the running tasks");
    }
  }
  if (stop_signal != 0) {
    throw Interrupted(stop_signal, fmt::format("stopped by {}: the running tasks checkpointed", signal_name(stop_signal)));
  }
  if (!failure.empty()) throw TaskFailed(failure);
  if (child_stop != 0) {
    throw Interrupted(child_stop, fmt::format("a task was stopped by {}: the others ran to their end", signal_name(child_stop)));
  }
  const auto& last = plan.tasks.back();
  // The table the last task wrote, as a run in one process shows it.
  if (last.kind == TaskKind::sweep_table || last.kind == TaskKind::suite_table) {
    notify(options.observers, "\n" + data::read_text_file(task_result(plan, last)["table"].get<std::string>()));
  }
  return {plan.directory, task_result(plan, last)};
}

}  // namespace carve
