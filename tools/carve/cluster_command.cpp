// carve submit | status: a plan as SLURM job arrays, and where its tasks stand.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <iostream>

#include "carve/error.h"
#include "carve/orchestration/plan.h"
#include "carve/orchestration/slurm.h"
#include "carve/orchestration/status.h"
#include "commands.h"

namespace carve::cli {

void add_cluster_commands(CLI::App& app, Action& action) {
  struct SubmitArgs {
    std::string file, out;
    std::vector<std::string> set;
    bool slurm = false, dry_run = false, resume = false, force = false;
    SlurmOptions slurm_options;
  };
  auto a = std::make_shared<SubmitArgs>();
  auto* submit = app.add_subcommand("submit", "run a file's plan on a cluster: one SLURM job array per dependency level");
  submit->add_option("file", a->file, "experiment YAML")->required();
  submit->add_flag("--slurm", a->slurm, "submit to SLURM with sbatch (the one scheduler carve knows)")->required();
  submit->add_option("--set", a->set, "override a key: key.path=value (repeatable)");
  submit->add_option("--out", a->out, "run directory (default: runs/<name>); on the cluster's shared filesystem");
  submit->add_option("--partition", a->slurm_options.partition, "SLURM partition");
  submit->add_option("--time", a->slurm_options.time, "time limit of each task, e.g. 4:00:00");
  submit->add_option("--cpus-per-task", a->slurm_options.cpus_per_task, "cores of each task (carve's --threads)")
      ->check(at_least(1))
      ->capture_default_str();
  submit->add_option("--gpus-per-task", a->slurm_options.gpus_per_task, "GPUs of each task")
      ->check(at_least(0));
  submit->add_option("--mem", a->slurm_options.mem, "memory of each task, e.g. 8G");
  submit->add_option("--array-parallelism", a->slurm_options.array_parallelism, "at most K tasks of an array at once")
      ->check(at_least(1));
  submit->add_option("--account", a->slurm_options.account, "SLURM account");
  submit->add_option("--qos", a->slurm_options.qos, "SLURM quality of service");
  submit->add_option("--sbatch-arg", a->slurm_options.sbatch_args, "one more #SBATCH line, e.g. \"--constraint=avx512\" (repeatable)")
      ->allow_extra_args(false);
  submit->add_option("--max-requeues", a->slurm_options.max_requeues, "preemptions after which a task is not requeued")
      ->check(at_least(0))
      ->capture_default_str();
  submit->add_option("--signal-grace", a->slurm_options.signal_grace,
                     "seconds between SLURM's USR1 warning and the end of a task's time")
      ->check(at_least(1))
      ->capture_default_str();
  submit->add_option("--device", a->slurm_options.device, "auto, cpu, cuda or cuda:N (default: the file's)");
  submit->add_flag("--dry-run", a->dry_run, "write and print the scripts; submit nothing");
  submit->add_flag("--resume", a->resume, "submit again into an existing run directory: finished tasks are read back");
  submit->add_flag("--force", a->force, "remove an existing run directory first");
  submit->callback([&action, a] {
    action = [a] {
      if (a->resume && a->force) throw UsageError("--resume and --force exclude each other");
      const auto plan = make_plan(a->file, a->set, a->out);
      RunOptions o;
      o.resume = a->resume;
      o.force = a->force;
      o.out = plan.directory;
      if (!a->dry_run) prepare_plan(plan, o);
      auto jobs = slurm_jobs(plan, a->slurm_options, carve_executable());
      if (a->dry_run) {
        for (const auto& job : jobs) std::cout << "# " << job.script << "\n" << job.text << "\n";
        std::cout << fmt::format("dry run: {} job array{}; nothing written or submitted\n", jobs.size(),
                                 jobs.size() == 1 ? "" : "s");
        return 0;
      }
      jobs = submit_slurm(plan, jobs);
      for (const auto& job : jobs) {
        std::cout << fmt::format("submitted job {}: level {}, {} task{} ({})\n", job.job_id, job.level, job.tasks.size(),
                                 job.tasks.size() == 1 ? "" : "s", job.script);
      }
      std::cout << fmt::format("run directory: {}\nfollow it with: carve status {}\n", plan.directory, plan.directory);
      return 0;
    };
  });

  auto dir = std::make_shared<std::string>();
  auto* status = app.add_subcommand("status", "where each task of a run stands: pending, running, done or failed");
  status->add_option("run_dir", *dir, "run directory")->required();
  status->callback([&action, dir] {
    action = [dir] {
      const auto plan = read_plan(*dir);
      const auto states = plan_status(plan);
      std::cout << status_table(plan, states);
      for (const auto& s : states)
        if (s.state == TaskState::failed) return 1;
      return 0;
    };
  });
}

}  // namespace carve::cli
