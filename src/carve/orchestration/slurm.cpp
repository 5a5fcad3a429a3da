#include "carve/orchestration/slurm.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>

#include "carve/data/file_bytes.h"
#include "carve/error.h"
#include "carve/orchestration/parallel.h"
#include "carve/process.h"

namespace carve {

namespace fs = std::filesystem;

std::string shell_quote(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=.,/:@%") ==
                           std::string::npos) {
    return text;
  }
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

namespace {

fs::path slurm_directory(const Plan& plan) { return fs::absolute(fs::path(state_directory(plan)) / "slurm"); }

// The log of array task `index` of `job` at `level` (the script gives "%A" and "%a" to SLURM).
fs::path log_path(const Plan& plan, size_t level, const std::string& job, const std::string& index) {
  return slurm_directory(plan) / "logs" / fmt::format("level-{}-{}_{}.out", level, job, index);
}

std::string script_text(const Plan& plan, const SlurmOptions& o, const std::string& carve, size_t level,
                        const std::vector<std::string>& tasks) {
  std::string s = "#!/bin/bash\n";
  s += fmt::format("# carve: level {} of the plan of {} ({} task{}), written by carve submit.\n", level, plan.file,
                   tasks.size(), tasks.size() == 1 ? "" : "s");
  s += fmt::format("#SBATCH --job-name={}\n", shell_quote(fmt::format("carve-{}-{}", plan.name, level)));
  s += fmt::format("#SBATCH --array=0-{}{}\n", tasks.size() - 1,
                   o.array_parallelism > 0 ? fmt::format("%{}", o.array_parallelism) : "");
  s += fmt::format("#SBATCH --output={}\n", shell_quote(log_path(plan, level, "%A", "%a").string()));
  s += "#SBATCH --open-mode=append\n";  // a requeued task adds to its log
  s += "#SBATCH --requeue\n";
  s += fmt::format("#SBATCH --signal=B:USR1@{}\n", o.signal_grace);
  s += fmt::format("#SBATCH --chdir={}\n", shell_quote(fs::current_path().string()));
  s += fmt::format("#SBATCH --cpus-per-task={}\n", o.cpus_per_task);
  if (o.gpus_per_task > 0) s += fmt::format("#SBATCH --gpus-per-task={}\n", o.gpus_per_task);
  for (const auto& [flag, value] : std::vector<std::pair<const char*, std::string>>{
           {"partition", o.partition}, {"time", o.time}, {"mem", o.mem}, {"account", o.account}, {"qos", o.qos}}) {
    if (!value.empty()) s += fmt::format("#SBATCH --{}={}\n", flag, shell_quote(value));
  }
  for (const auto& a : o.sbatch_args) s += fmt::format("#SBATCH {}\n", a);
  s += "\ntasks=(";
  for (const auto& t : tasks) s += "\n  " + shell_quote(t);
  s += "\n)\n";
  std::vector<std::string> words{shell_quote(carve), "--threads", "\"${SLURM_CPUS_PER_TASK:-1}\"", "run",
                                 shell_quote(plan.file), "--out", shell_quote(plan.directory), "--task",
                                 "\"${tasks[$SLURM_ARRAY_TASK_ID]}\"", "--max-requeues", std::to_string(o.max_requeues)};
  if (!o.device.empty()) words.insert(words.end(), {"--device", shell_quote(o.device)});
  for (const auto& set : plan.overrides) words.insert(words.end(), {"--set", shell_quote(set)});
  // exec: carve is the batch shell's process itself, so SIGUSR1 (B:) reaches it.
  s += fmt::format("exec {}\n", fmt::join(words, " "));
  return s;
}

// Runs a command; returns its exit code and what it printed (stdout and stderr), trimmed.
std::pair<int, std::string> capture(const std::string& command) {
  auto r = run_shell(command + " 2>&1");
  if (r.status == -1) return {-1, "cannot start: " + command};
  while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == ' ')) r.out.pop_back();
  return {r.exit_code(), r.out};
}

}  // namespace

std::vector<SlurmJob> slurm_jobs(const Plan& plan, const SlurmOptions& options, const std::string& carve) {
  if (options.cpus_per_task < 1) throw UsageError(fmt::format("--cpus-per-task must be at least 1, got {}", options.cpus_per_task));
  if (options.max_requeues < 0) throw UsageError(fmt::format("--max-requeues must be 0 or more, got {}", options.max_requeues));
  const auto dir = slurm_directory(plan);
  std::vector<SlurmJob> jobs;
  const auto levels = dependency_levels(plan);
  for (size_t l = 0; l < levels.size(); ++l) {
    SlurmJob job;
    job.level = l;
    for (const auto* t : levels[l]) job.tasks.push_back(t->id);
    job.script = (dir / fmt::format("level-{}.sbatch", l)).string();
    job.text = script_text(plan, options, carve, l, job.tasks);
    jobs.push_back(job);
  }
  return jobs;
}

std::vector<SlurmJob> submit_slurm(const Plan& plan, std::vector<SlurmJob> jobs) {
  fs::create_directories(slurm_directory(plan) / "logs");
  for (const auto& job : jobs) data::write_text_file(job.script, job.text);
  std::vector<std::string> below;
  const auto record = fs::path(slurm_directory(plan)) / "jobs.json";
  nlohmann::json submissions = nlohmann::json::array();
  if (fs::exists(record)) {
    try {
      submissions = nlohmann::json::parse(data::read_text_file(record.string()));
    } catch (const nlohmann::json::exception&) {
      submissions = nlohmann::json::array();
    }
  }
  for (auto& job : jobs) {
    std::string command = "sbatch --parsable --kill-on-invalid-dep=yes";
    if (!below.empty()) command += fmt::format(" --dependency=afterok:{}", fmt::join(below, ":"));
    command += " " + shell_quote(job.script);
    const auto [status, out] = capture(command);
    if (status != 0) {
      const auto done = below.empty() ? std::string() : fmt::format(" (levels submitted already: jobs {})", fmt::join(below, ", "));
      throw UsageError(fmt::format("sbatch refused {}: {}{}", job.script,
                                   status == 127 ? "sbatch not found: is this a SLURM login node?" : out, done));
    }
    job.job_id = out.substr(0, out.find(';'));  // "id;cluster" on federated clusters
    below.push_back(job.job_id);
    submissions.push_back({{"level", job.level}, {"job_id", job.job_id}, {"script", job.script}, {"tasks", job.tasks}});
    data::write_text_file(record.string(), submissions.dump(2) + "\n");
  }
  return jobs;
}

std::map<std::string, std::string> slurm_logs(const Plan& plan) {
  std::map<std::string, std::string> logs;
  const auto record = fs::path(slurm_directory(plan)) / "jobs.json";
  if (!fs::exists(record)) return logs;
  try {
    for (const auto& job : nlohmann::json::parse(data::read_text_file(record.string()))) {
      const auto tasks = job.at("tasks").get<std::vector<std::string>>();
      for (size_t i = 0; i < tasks.size(); ++i) {
        logs[tasks[i]] =
            log_path(plan, job.at("level").get<size_t>(), job.at("job_id").get<std::string>(), std::to_string(i)).string();
      }
    }
  } catch (const nlohmann::json::exception&) {
    // A damaged record: status still reads the run tree, without the logs' last lines.
  }
  return logs;
}

bool in_slurm_job() { return std::getenv("SLURM_JOB_ID") != nullptr; }

std::string requeue_after_preemption(const Plan& plan, const Task& task, int max_requeues) {
  const auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? std::string() : std::string(v);
  };
  const auto array_job = env("SLURM_ARRAY_JOB_ID"), array_task = env("SLURM_ARRAY_TASK_ID");
  const auto job = array_job.empty() ? env("SLURM_JOB_ID") : array_job + "_" + array_task;
  const int restarts = env("SLURM_RESTART_COUNT").empty() ? 0 : std::atoi(env("SLURM_RESTART_COUNT").c_str());
  if (restarts >= max_requeues) {
    const auto message = fmt::format("task {} was preempted {} time{} (--max-requeues {}): not requeued; it resumes from its "
                                 "checkpoint with carve submit --resume or carve run --task",
                                 task.id, restarts + 1, restarts == 0 ? "" : "s", max_requeues);
    record_task_failure(plan, task, message);
    throw TaskFailed(message);
  }
  // SLURM answers the requeue of a running job by ending the job: SIGTERM to each of its
  // processes, scontrol among them, at times before scontrol has reported back. The checkpoint is
  // written; what is left is to learn SLURM's answer and to record it, so this process and
  // scontrol (it inherits the disposition) ignore SIGTERM until then. The record comes first,
  // so that not even SIGKILL leaves a requeued task without it.
  const auto previous = std::signal(SIGTERM, SIG_IGN);
  const auto record = task_file(plan, task, ".requeued");
  data::write_text_file(record, nlohmann::json{{"job", job}, {"restarts", restarts + 1}}.dump() + "\n");
  const auto [status, out] = capture("scontrol requeue " + shell_quote(job));
  std::signal(SIGTERM, previous);
  if (status != 0) {
    std::error_code ignored;
    fs::remove(record, ignored);
    throw TaskFailed(fmt::format("task {}: scontrol requeue {} failed: {}", task.id, job,
                                 out.empty() ? "no message (exit status " + std::to_string(status) + ")" : out));
  }
  return fmt::format("requeued {} (restart {} of at most {}); it resumes from its checkpoint", job, restarts + 1, max_requeues);
}

}  // namespace carve
