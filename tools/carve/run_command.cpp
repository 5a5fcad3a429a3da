// carve run | check | export: experiments from YAML files.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "carve/config/experiment.h"
#include "carve/error.h"
#include "carve/export/torchscript.h"
#include "carve/report/analysis.h"
#include "carve/train/run_dir.h"
#include "carve/orchestration/parallel.h"
#include "carve/orchestration/plan.h"
#include "carve/orchestration/slurm.h"
#include "carve/orchestration/stack.h"
#include "carve/orchestration/suite.h"
#include "carve/orchestration/sweep.h"
#include "carve/train/stop.h"
#include "commands.h"
#include "console.h"
#include "carve/models/autoencoder.h"

namespace carve::cli {

namespace {

int export_run(const std::string& run_dir, std::string out) {
  const auto run = load_run(run_dir);
  if (out.empty()) out = (std::filesystem::path(run_dir) / "encoder.pt").string();
  run.model->save_encoder(out);
  std::cout << "wrote " << out << "\n";
  return 0;
}

// The command that continues an interrupted one: the same, with --resume instead of --force.
std::string resume_command(const std::string& command_line) {
  std::istringstream words(command_line);
  std::string out;
  bool resume = false;
  for (std::string w; words >> w;) {
    if (w == "--force") continue;
    resume = resume || w == "--resume";
    out += (out.empty() ? "" : " ") + w;
  }
  return resume ? out : out + " --resume";
}

// Tests of interruption through real signals: CARVE_TEST_SIGNAL_AFTER_STEPS=N[:TERM] raises
// SIGINT (or SIGTERM, SIGUSR1) in this process after N training steps.
void arm_test_signal() {
  const char* value = std::getenv("CARVE_TEST_SIGNAL_AFTER_STEPS");
  if (value == nullptr) return;
  const std::string v(value);
  const int signal = v.find(":TERM") != std::string::npos ? SIGTERM : v.find(":USR1") != std::string::npos ? SIGUSR1 : SIGINT;
  after_steps(std::stoll(v), [signal] { std::raise(signal); });
}

// How a run is executed: the whole plan in this process, one task of it, or its tasks N at a time.
struct Execution {
  std::string task;
  int jobs = 1;
  int max_requeues = 3;
};

// `carve --threads T run FILE --out DIR --task ID [--device D] [--set ...]` for --jobs' children.
std::vector<std::string> task_command(const Plan& plan, const Task& task, const RunOptions& o, int threads) {
  std::vector<std::string> argv{carve_executable(), "--threads",
                                std::to_string(threads), "run", plan.file, "--out", plan.directory, "--task", task.id};
  if (!o.device.empty()) argv.insert(argv.end(), {"--device", o.device});
  for (const auto& s : plan.overrides) argv.insert(argv.end(), {"--set", s});
  return argv;
}

RunResult execute(const Plan& plan, const RunOptions& o, const Execution& how) {
  if (!how.task.empty()) return execute_task(plan, how.task, o);
  if (how.jobs > 1 && plan.tasks.size() > 1) {
    const int threads = std::max(1, torch::get_num_threads() / how.jobs);
    return execute_parallel(plan, o, how.jobs, [&](const Task& t) { return task_command(plan, t, o, threads); });
  }
  return execute_plan(plan, o);
}

int run_interruptibly(const std::string& file, const std::vector<std::string>& set, const RunOptions& o,
                      const Execution& how) {
  install_stop_handlers();
  arm_test_signal();
  const auto plan = make_plan(file, set, o.out);
  try {
    const auto r = execute(plan, o, how);
    std::cout << "run directory: " << r.directory << "\n";
    return 0;
  } catch (const Interrupted& e) {
    end_progress_line();
    std::cerr << "carve: " << e.what() << "\n";
    if (!how.task.empty() && e.signal() == SIGUSR1 && in_slurm_job()) {
      // SLURM's warning signal: requeue this array task, to resume from the checkpoint just written.
      const auto requeued = requeue_after_preemption(plan, plan.task(how.task), how.max_requeues);
      std::cerr << "carve: " << requeued << "\n";
    } else {
      std::cerr << "carve: to continue: " << resume_command(o.command_line) << "\n";
    }
    return e.exit_code();
  }
}

}  // namespace

void add_run_commands(CLI::App& app, Action& action, const std::string& command_line) {
  struct Args {
    std::string file, out, device;
    std::vector<std::string> set;
    bool resume = false, force = false;
    Execution how;
  };
  auto a = std::make_shared<Args>();
  auto* run = app.add_subcommand("run", "run an experiment file into a run directory");
  run->add_option("file", a->file, "experiment YAML")->required();
  run->add_option("--set", a->set, "override a key: key.path=value (repeatable)");
  run->add_option("--out", a->out, "run directory (default: runs/<name>)");
  run->add_option("--device", a->device, "auto, cpu, cuda or cuda:N (default: the file's)");
  run->add_flag("--resume", a->resume, "continue from the run directory's last checkpoint");
  run->add_flag("--force", a->force, "overwrite an existing run directory");
  run->add_option("--task", a->how.task, "run one task of the file's plan (carve plan FILE lists them): read back "
                                          "if finished, resumed if half-done");
  run->add_option("--jobs", a->how.jobs, "run independent tasks N at a time, as processes sharing the threads")
      ->check(at_least(1))
      ->capture_default_str();
  run->add_option("--max-requeues", a->how.max_requeues,
                  "with --task under SLURM: preemptions after which the task is not requeued")
      ->check(at_least(0))
      ->capture_default_str();
  run->callback([&action, a, command_line] {
    action = [a, command_line] {
      if (a->resume && a->force) throw UsageError("--resume and --force exclude each other");
      if (!a->how.task.empty() && a->how.jobs > 1) throw UsageError("--task runs one task; --jobs is for a whole plan");
      RunOptions o;
      o.out = a->out;
      o.device = a->device;
      o.resume = a->resume;
      o.force = a->force;
      o.command_line = command_line;
      o.observers.push_back(std::make_shared<ConsoleObserver>());
      return run_interruptibly(a->file, a->set, o, a->how);
    };
  });

  auto c = std::make_shared<Args>();
  auto* check = app.add_subcommand("check", "validate an experiment file and print the resolved configuration");
  check->add_option("file", c->file, "experiment YAML")->required();
  check->add_option("--set", c->set, "override a key: key.path=value (repeatable)");
  check->add_option("--out", c->out, "run directory the plan is shown into (default: runs/<name>)");
  check->callback([&action, c] {
    action = [c] {
      const auto spec = load_experiment(c->file, c->set);
      validate_all(c->file, c->set);
      std::cout << "# " << c->file << ": valid";
      const auto points = sweep_points(spec);
      if (!spec.sweep.empty()) std::cout << fmt::format(" ({} sweep points)", points.size());
      const auto suite = load_suite(c->file);
      if (!suite.runs.empty()) {
        // What it will train, to judge the time: each run x seed, and each sweep point once.
        size_t swept = 0;
        for (const auto& run : suite.runs) swept += run.sweep.empty() ? 0 : sweep_grid(run.sweep).size();
        const size_t seeds = std::max<size_t>(1, suite.seeds.size());
        std::cout << fmt::format(" (suite: {} runs x {} seed{}{})", suite.runs.size(), seeds, seeds == 1 ? "" : "s",
                                 swept ? fmt::format(", {} sweep points", swept) : "");
      }
      // The split sizes against the data's sizes, from the files' headers.
      const auto plan = make_plan(c->file, c->set, c->out);
      for (const auto& note : check_data_sizes(plan)) std::cout << "# note: " << note << "\n";
      std::cout << "\n" << to_yaml(spec);
      // A sweep, suite or stack: what the file expands into.
      if (plan.tasks.size() > 1 || plan.tasks.front().kind == TaskKind::stack) {
        std::cout << "\n" << plan.to_table();
        const auto layers = load_stack(c->file);
        for (size_t k = 0; k < layers.size(); ++k) {
          std::cout << fmt::format("stack layer {}: {}\n", k + 1, fmt::join(layers[k], ", "));
        }
      }
      return 0;
    };
  });

  struct AnalyzeArgs {
    std::vector<std::string> dirs;
    std::string out = "runs/compare";
    AnalysisOptions options;
  };
  auto an = std::make_shared<AnalyzeArgs>();
  auto* analyze = app.add_subcommand("analyze", "contraction curves, Jacobian spectra, activations, filters and training "
                                                "curves of a run, as CSV and PNG, with RUN_DIR/report.md");
  analyze->add_option("run_dir", an->dirs, "run directory")->required()->expected(1);
  analyze->add_option("--points", an->options.points, "evaluation points")->capture_default_str();
  analyze->add_option("--radii", an->options.radii, "radii of the contraction curve")->delimiter(',');
  analyze->add_option("--seed", an->options.seed, "seed of the random directions")->capture_default_str();
  analyze->callback([&action, an] {
    action = [an] {
      an->options.progress = [](const std::string& what) { std::cout << what << std::endl; };
      analyze_run(an->dirs.front(), an->options);
      std::cout << "wrote " << an->dirs.front() << "/analysis/ and " << an->dirs.front() << "/report.md\n";
      return 0;
    };
  });
  auto cm = std::make_shared<AnalyzeArgs>();
  auto* compare = app.add_subcommand("compare", "overlay the curves of several runs and tabulate their metrics");
  compare->add_option("run_dirs", cm->dirs, "run directories (two or more)")->required();
  compare->add_option("--out", cm->out, "output directory")->capture_default_str();
  compare->add_option("--points", cm->options.points, "evaluation points (for runs not analyzed yet)");
  compare->add_option("--radii", cm->options.radii, "radii (for runs not analyzed yet)")->delimiter(',');
  compare->callback([&action, cm] {
    action = [cm] {
      cm->options.progress = [](const std::string& what) { std::cout << what << std::endl; };
      compare_runs(cm->dirs, cm->out, cm->options);
      std::cout << "wrote " << cm->out << "/compare.md and its figures\n";
      return 0;
    };
  });

  struct PlanArgs {
    std::string file, format = "table", out;
    std::vector<std::string> set;
  };
  auto pl = std::make_shared<PlanArgs>();
  auto* plan = app.add_subcommand("plan", "print the tasks a file expands into (sweep points, suite seeds, tables)");
  plan->add_option("file", pl->file, "experiment YAML")->required();
  plan->add_option("--set", pl->set, "override a key: key.path=value (repeatable)");
  plan->add_option("--out", pl->out, "run directory (default: runs/<name>)");
  plan->add_option("--format", pl->format, "table or json")->check(CLI::IsMember({"table", "json"}))->capture_default_str();
  plan->callback([&action, pl] {
    action = [pl] {
      const auto p = make_plan(pl->file, pl->set, pl->out);
      std::cout << (pl->format == "json" ? p.to_json().dump(2) + "\n" : p.to_table());
      return 0;
    };
  });

  auto* config = app.add_subcommand("config", "the configuration keys");
  auto* docs = config->add_subcommand("docs", "print the key tables of docs/CONFIG.md, from the key declarations");
  docs->callback([&action] {
    action = [] {
      std::cout << config_docs();
      return 0;
    };
  });

  auto e = std::make_shared<std::pair<std::string, std::string>>();
  auto* exp = app.add_subcommand("export", "write a run's encoder as TorchScript");
  exp->add_option("run_dir", e->first, "run directory")->required();
  exp->add_option("--out", e->second, "output file (default: RUN_DIR/encoder.pt)");
  exp->callback([&action, e] { action = [e] { return export_run(e->first, e->second); }; });
}

}  // namespace carve::cli
