/// SLURM: a plan as job arrays (`carve submit FILE --slurm`), and a task's side of preemption.
///
/// One job array per dependency level of the plan (sweep points; a suite's choices; its seeds at
/// each winner; the tables), each level's array starting `afterok` on every level below it and
/// `--kill-on-invalid-dep=yes`, so that the dependents of a failed task are cancelled rather
/// than pending forever. Array task i runs `carve run FILE --out RUN_DIR --task <id i>`
/// (execute_task): the batch script `exec`s carve, so the warning signal reaches it.
///
/// Preemption, as submitit does it: each array asks for `--signal=B:USR1@<grace>` and
/// `--requeue`; on SIGUSR1 carve stops after its current step with a checkpoint (mid-epoch if
/// need be), requeues its own array task with `scontrol requeue <array job>_<task>` (SLURM does
/// not requeue on that signal by itself) and exits; the requeued task resumes from the
/// checkpoint. After `max_requeues` restarts (SLURM_RESTART_COUNT) a preempted task is not
/// requeued again: it fails, and its dependents are cancelled.
///
///   carve::SlurmOptions o;  o.partition = "gpu";  o.time = "4:00:00";  o.cpus_per_task = 4;
///   for (const auto& job : carve::submit_slurm(plan, o, "/usr/bin/carve")) std::cout << job.job_id;
///
/// Files, in the plan's state directory (plan.h): slurm/level-<k>.sbatch, slurm/jobs.json (the
/// job ids and their tasks, for `carve status`), slurm/logs/level-<k>-<job>_<index>.out.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "carve/orchestration/plan.h"

namespace carve {

/// The sbatch options of carve's SLURM arrays (docs/CLUSTER.md).
struct SlurmOptions {
  std::string partition, time, mem, account, qos;
  int cpus_per_task = 1;       ///< also carve's --threads in each task
  int gpus_per_task = 0;
  int array_parallelism = 0;   ///< at most this many tasks of an array at once (0: no bound)
  int max_requeues = 3;        ///< preemptions after which a task is not requeued again
  int signal_grace = 120;      ///< seconds between the USR1 warning and the end of the time limit
  std::vector<std::string> sbatch_args;  ///< passed on as `#SBATCH <arg>` lines
  std::string device;          ///< carve's --device in each task ("" = the file's)
};

/// One job array: a dependency level of the plan.
struct SlurmJob {
  size_t level = 0;
  std::string script;               ///< path of its .sbatch file
  std::string text;                 ///< the script
  std::vector<std::string> tasks;   ///< array index -> task id
  std::string job_id;               ///< once submitted
};

/// The job arrays of a plan and their scripts (nothing written, nothing submitted: what
/// `--dry-run` prints). `carve` is the executable the scripts run (an absolute path: the cluster
/// shares the filesystem).
std::vector<SlurmJob> slurm_jobs(const Plan& plan, const SlurmOptions& options, const std::string& carve);

/// Writes the scripts into slurm/ and submits them with sbatch, each level after those below
/// it; records slurm/jobs.json and
/// returns the jobs with their ids. UsageError when sbatch is missing or refuses a script
/// (its message quoted); the levels submitted before stay submitted and are named.
std::vector<SlurmJob> submit_slurm(const Plan& plan, std::vector<SlurmJob> jobs);

/// Each task's newest SLURM log (from slurm/jobs.json), for `carve status`; empty if never submitted.
std::map<std::string, std::string> slurm_logs(const Plan& plan);

/// Whether this process is a SLURM job (SLURM_JOB_ID is set).
bool in_slurm_job();

/// Called when a task under SLURM stopped on SIGUSR1: requeues this array task (or job) with
/// scontrol and returns what it did; after `max_requeues` restarts it does not, and throws
/// TaskFailed so that the task fails (its dependents are cancelled). It records the requeue
/// (tasks/<id>.requeued) before asking for it, and ignores SIGTERM while scontrol runs: SLURM
/// ends a job it requeues, and that must not cut the record or scontrol's answer short.
std::string requeue_after_preemption(const Plan& plan, const Task& task, int max_requeues);

/// `text` quoted for a POSIX shell.
std::string shell_quote(const std::string& text);

}  // namespace carve
