// carve bench penalty | train | rbm | data | run: flags -> carve::bench (src/carve/bench) -> print.
// Benchmarks, not tests: only ratios of measurements taken side by side in one run mean anything.
#include <torch/torch.h>

#include <iostream>

#include "carve/bench/benchmarks.h"
#include "carve/resources.h"
#include "commands.h"

namespace carve::cli {

namespace {

const std::string kPython = python_interpreter();
std::string peer(const char* script) { return resource_path(std::string("bench/") + script); }

int print(const nlohmann::json& result, const std::string& format) {
  std::cout << (format == "json" ? result.dump(2) + "\n" : bench::to_table(result));
  return 0;
}

void add_format(CLI::App* app, std::string& format) {
  app->add_option("--format", format, "table or json")->check(CLI::IsMember({"table", "json"}))->capture_default_str();
}

}  // namespace

void add_bench_commands(CLI::App& app, Action& action) {
  auto* bench = app.add_subcommand("bench", "benchmarks that print ratios measured side by side");

  struct PenaltyArgs {
    bench::PenaltyBenchConfig config{784, 1000, 100, 20, 3, kPython, peer("penalty_peer.py")};
    bool no_python = false;
    std::string format = "table";
  };
  auto a = std::make_shared<PenaltyArgs>();
  auto* penalty = bench->add_subcommand("penalty", "contractive penalty cost beside an AE step and beside PyTorch/functorch");
  penalty->add_option("--inputs", a->config.inputs, "input units")->capture_default_str();
  penalty->add_option("--hidden", a->config.hidden, "hidden units")->capture_default_str();
  penalty->add_option("--batch", a->config.batch, "examples per batch")->capture_default_str();
  penalty->add_option("--repeats", a->config.repeats, "timed repetitions of each step")->capture_default_str();
  penalty->add_option("--exact-repeats", a->config.exact_repeats, "timed repetitions of the exact penalty")
      ->capture_default_str();
  penalty->add_option("--python", a->config.python, "python with torch for the peer")->capture_default_str();
  penalty->add_option("--peer", a->config.peer, "the peer script")->capture_default_str();
  penalty->add_flag("--no-python", a->no_python, "skip the Python peer");
  penalty->add_option("--device", a->config.device, "cpu, cuda or cuda:N: where carve and the peer run")
      ->capture_default_str();
  add_format(penalty, a->format);
  penalty->callback([&action, a] {
    action = [a] {
      if (a->no_python) a->config.python.clear();
      return print(bench::bench_penalty(a->config), a->format);
    };
  });

  struct TrainArgs {
    bench::TrainBenchConfig config{200, kPython, peer("train_peer.py")};
    bool no_python = false;
    std::string format = "table";
  };
  auto t = std::make_shared<TrainArgs>();
  auto* train = bench->add_subcommand("train", "CAE training throughput beside a PyTorch script and the GEMM roofline");
  train->add_option("--steps", t->config.steps, "timed steps (median)")->capture_default_str();
  train->add_option("--python", t->config.python, "python with torch for the peer")->capture_default_str();
  train->add_flag("--no-python", t->no_python, "skip the Python peer");
  train->add_option("--device", t->config.device, "cpu, cuda or cuda:N: where carve and the peer run")
      ->capture_default_str();
  add_format(train, t->format);
  train->callback([&action, t] {
    action = [t] {
      if (t->no_python) t->config.python.clear();
      return print(bench::bench_train(t->config), t->format);
    };
  });

  struct RbmArgs {
    bench::RbmBenchConfig config{5000, 3, kPython, peer("rbm_peer.py")};
    bool no_python = false;
    std::string format = "table";
  };
  auto rb = std::make_shared<RbmArgs>();
  auto* rbm = bench->add_subcommand("rbm", "RBM PCD-1 training throughput beside scikit-learn's BernoulliRBM");
  rbm->add_option("--examples", rb->config.examples, "examples per epoch")->capture_default_str();
  rbm->add_option("--repeats", rb->config.repeats, "epochs timed (best of)")->capture_default_str();
  rbm->add_flag("--no-python", rb->no_python, "skip the scikit-learn peer");
  add_format(rbm, rb->format);
  rbm->callback([&action, rb] {
    action = [rb] {
      if (rb->no_python) rb->config.python.clear();
      return print(bench::bench_rbm(rb->config), rb->format);
    };
  });

  struct DataArgs {
    bench::DataBenchConfig config;
    std::string format = "table";
  };
  auto d = std::make_shared<DataArgs>();
  auto* data = bench->add_subcommand("data", "loading Fashion-MNIST beside zcat of the same files");
  data->add_option("--repeats", d->config.repeats, "rounds (best of)")->capture_default_str();
  add_format(data, d->format);
  data->callback([&action, d] { action = [d] { return print(bench::bench_data(d->config), d->format); }; });

  struct RunArgs {
    bench::RunBenchConfig config;
    std::string format = "table";
  };
  auto ru = std::make_shared<RunArgs>();
  auto* run = bench->add_subcommand("run", "where a whole run's wall time goes, and its share of its roofline");
  run->add_option("file", ru->config.file, "experiment YAML")->required();
  run->add_option("--task", ru->config.task, "the task of the file's plan to run (carve plan FILE lists them; "
                                             "needed where the file has more than one)");
  run->add_option("--set", ru->config.set, "override a key: key.path=value (repeatable)");
  run->add_option("--out", ru->config.out, "run directory, kept (default: a temporary one, removed after)");
  run->add_option("--calibrate-every", ru->config.calibrate_every, "time the run's products alone every N epochs")
      ->capture_default_str();
  add_format(run, ru->format);
  run->callback([&action, ru] { action = [ru] { return print(bench::bench_run(ru->config), ru->format); }; });
}

}  // namespace carve::cli
