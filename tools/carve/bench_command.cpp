// carve bench penalty: the contractive penalty's cost at the paper's size, beside an AE training
// step and beside a Python peer (tools/bench/penalty_peer.py) run in the same invocation, as
// ratios. A benchmark, not a test: the machine is shared and noisy, so only ratios of
// measurements taken side by side mean anything.
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "carve/config/experiment.h"
#include "carve/data/catalog.h"
#include "carve/train/trainer.h"
#include "carve/error.h"
#include "carve/penalty/contractive.h"
#include "commands.h"
#include "models/autoencoder.h"
#include "models/rbm.h"
#include "carve/train/contrastive_divergence.h"
#include "carve/penalty/higher_order.h"

namespace carve::cli {
namespace {

struct BenchArgs {
  int64_t inputs = 784, hidden = 1000, batch = 100, repeats = 20, exact_repeats = 3;
  std::string python = "/usr/bin/python3";
  std::string peer = std::string(CARVE_SOURCE_DIR) + "/tools/bench/penalty_peer.py";
  bool no_python = false;
  std::string format = "table";
};

template <typename F>
double median_ms(F&& fn, int64_t repeats) {
  fn();  // warm-up
  std::vector<double> times;
  for (int64_t r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    times.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Peak resident memory (VmHWM) of this process, in MiB; `reset` first asks the kernel to restart
// the peak from the current size (/proc/self/clear_refs, Linux >= 4.0). Returns -1 if unknown.
double peak_mib(bool reset) {
  if (reset) {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    if (!clear.flush()) return -1;
  }
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return -1;
}

// Runs a peer (a Python script) and parses the one JSON object it prints.
nlohmann::json run_peer_command(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot start the peer: " + command);
  std::string out;
  std::array<char, 4096> buf{};
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  const int status = pclose(pipe);
  if (status != 0) throw std::runtime_error(fmt::format("the peer failed (status {}): {}", status, command));
  return nlohmann::json::parse(out);
}

nlohmann::json run_peer(const BenchArgs& a) {
  return run_peer_command(fmt::format(
      "'{}' '{}' --inputs {} --hidden {} --batch {} --repeats {} --exact-repeats {} --threads {}",
      a.python, a.peer, a.inputs, a.hidden, a.batch, a.repeats, a.exact_repeats,
      torch::get_num_threads()));
}

int bench_penalty(const BenchArgs& a) {
  for (auto [name, v] : {std::pair{"inputs", a.inputs}, {"hidden", a.hidden}, {"batch", a.batch},
                         {"repeats", a.repeats}, {"exact-repeats", a.exact_repeats}}) {
    if (v <= 0) throw UsageError(fmt::format("--{} must be a positive integer, got {}", name, v));
  }
  torch::manual_seed(0);
  AutoEncoder ae(AutoEncoderOptions(a.inputs, a.hidden));
  const auto x = torch::rand({a.batch, a.inputs});
  torch::optim::SGD opt(ae->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  const double lambda = 0.1;

  const auto params = ae->parameters();
  const auto step_with = [&](const ContractivePenalty* penalty) {
    opt.zero_grad();
    const auto pass = penalty ? penalty->make_pass(*ae, x) : EncoderPass::of(*ae, x);
    auto loss = ae->reconstruction_loss(x, pass.code());
    if (penalty) loss = loss + lambda * (*penalty)(*ae, pass).value;
    // Only the parameters: the stochastic pass's input requires grad, but its gradient is unused.
    loss.backward({}, c10::nullopt, false, params);
    opt.step();
  };
  const ContractivePenalty analytic(ContractiveOptions().method(ContractiveMethod::analytic));
  const ContractivePenalty stochastic(
      ContractiveOptions().method(ContractiveMethod::stochastic).projections(1));
  const ContractivePenalty exact(ContractiveOptions().method(ContractiveMethod::exact));

  nlohmann::json r;
  r["config"] = {{"inputs", a.inputs}, {"hidden", a.hidden}, {"batch", a.batch},
                 {"dtype", "float32"}, {"activation", "sigmoid"}, {"tied", true},
                 {"threads", torch::get_num_threads()}, {"repeats", a.repeats},
                 {"exact_repeats", a.exact_repeats},
                 {"exact_mode", to_string(resolve_jacobian_mode(
                     ExactJacobianOptions().third_order_verified(true), a.inputs, a.hidden))}};
  // Interleave the cheap measurements twice so that drift on a shared machine hits all alike.
  double ae_ms = 1e300, an_ms = 1e300, st_ms = 1e300;
  for (int round = 0; round < 2; ++round) {
    ae_ms = std::min(ae_ms, median_ms([&] { step_with(nullptr); }, a.repeats));
    an_ms = std::min(an_ms, median_ms([&] { step_with(&analytic); }, a.repeats));
    st_ms = std::min(st_ms, median_ms([&] { step_with(&stochastic); }, a.repeats));
  }
  const auto encoder_params = ae->encoder_parameters();
  const auto exact_once = [&] {
    torch::autograd::grad({exact(*ae, x).value}, encoder_params);
  };
  const double peak_before = peak_mib(true);
  exact_once();
  const double exact_peak = peak_mib(false);
  const double exact_ms = median_ms(exact_once, a.exact_repeats);

  r["carve"] = {{"ae_step_ms", ae_ms},
                {"ae_analytic_step_ms", an_ms},
                {"ae_stochastic1_step_ms", st_ms},
                {"exact_ms", exact_ms},
                {"exact_peak_mib", exact_peak},
                {"peak_reset", peak_before >= 0}};
  if (!a.no_python) r["python"] = run_peer(a);

  nlohmann::json ratios;
  ratios["analytic_overhead"] = an_ms / ae_ms - 1;
  ratios["stochastic1_over_ae"] = st_ms / ae_ms;
  ratios["exact_over_ae"] = exact_ms / ae_ms;
  if (r.contains("python")) {
    const auto& py = r["python"];
    ratios["ae_step_python_over_carve"] = py["ae_step_ms"].get<double>() / ae_ms;
    ratios["ae_analytic_python_over_carve"] = py["ae_analytic_step_ms"].get<double>() / an_ms;
    ratios["functorch_over_exact"] = py["exact_functorch_ms"].get<double>() / exact_ms;
  }
  r["ratios"] = ratios;

  if (a.format == "json") {
    std::cout << r.dump(2) << "\n";
    return 0;
  }
  const auto verdict = [](bool ok) { return ok ? "met" : "MISSED"; };
  std::cout << fmt::format(
      "carve bench penalty: sigmoid {} -> {}, tied, batch {}, float32, {} threads, exact in {} mode\n\n",
      a.inputs, a.hidden, a.batch, torch::get_num_threads(), r["config"]["exact_mode"].get<std::string>());
  std::cout << fmt::format("{:<44} {:>12} {:>12}\n", "measurement (median ms)", "carve", "python");
  const auto py = [&](const char* key) {
    return r.contains("python") ? fmt::format("{:.2f}", r["python"][key].get<double>()) : std::string("-");
  };
  std::cout << fmt::format("{:<44} {:>12.2f} {:>12}\n", "AE step (SGD, cross-entropy)", ae_ms, py("ae_step_ms"));
  std::cout << fmt::format("{:<44} {:>12.2f} {:>12}\n", "AE step + analytic penalty", an_ms, py("ae_analytic_step_ms"));
  std::cout << fmt::format("{:<44} {:>12.2f} {:>12}\n", "AE step + stochastic penalty (k=1)", st_ms, "-");
  std::cout << fmt::format("{:<44} {:>12.1f} {:>12}\n", "exact penalty fwd+bwd (py: functorch vmap(jacrev))", exact_ms,
                           r.contains("python") ? fmt::format("{:.1f}", r["python"]["exact_functorch_ms"].get<double>()) : "-");
  std::cout << fmt::format("{:<44} {:>12.0f} {:>12}\n", "exact peak resident memory (MiB)", exact_peak,
                           r.contains("python") ? fmt::format("{:.0f}", r["python"]["exact_peak_mib"].get<double>()) : "-");
  std::cout << "\nratio                                           measured   goal\n";
  std::cout << fmt::format("analytic penalty overhead on an AE step       {:>9.1f}%   <= 5%     {}\n",
                           100 * ratios["analytic_overhead"].get<double>(),
                           verdict(ratios["analytic_overhead"].get<double>() <= 0.05));
  std::cout << fmt::format("AE+stochastic(k=1) step / AE step             {:>9.2f}x   <= 1.5x   {}\n",
                           st_ms / ae_ms, verdict(st_ms / ae_ms <= 1.5));
  std::cout << fmt::format("exact penalty / AE step                       {:>9.1f}x\n", exact_ms / ae_ms);
  if (r.contains("python")) {
    const double f = ratios["functorch_over_exact"].get<double>();
    std::cout << fmt::format("functorch vmap(jacrev) / carve exact          {:>9.2f}x   >= 1.5x   {}\n", f,
                             verdict(f >= 1.5));
    std::cout << fmt::format("python AE step / carve AE step                {:>9.2f}x\n",
                             ratios["ae_step_python_over_carve"].get<double>());
    std::cout << fmt::format("python AE+analytic / carve AE+analytic        {:>9.2f}x\n",
                             ratios["ae_analytic_python_over_carve"].get<double>());
  }
  std::cout << fmt::format("exact peak memory                             {:>8.0f} MiB  < 2048  {}\n",
                           exact_peak, verdict(exact_peak >= 0 && exact_peak < 2048));
  return 0;
}

// One configuration of `carve bench train`: carve's training step, the Python script's, and the
// roofline (the step's six products at the sgemm rate measured now).
nlohmann::json bench_train_point(int64_t inputs, int64_t hidden, int64_t batch, int64_t steps,
                                 const std::string& python, const std::string& peer) {
  const auto spec = parse_experiment(fmt::format(
      "name: bench\ndata: {{dataset: mnist}}\nmodel: {{hidden: {}}}\n"
      "regularizers: {{contractive: {{weight: 0.1, method: analytic}}}}\n"
      "optimizer: {{type: sgd, lr: 0.01, momentum: 0.9}}\ntraining: {{batch_size: {}}}\n", hidden, batch),
      "bench.yaml");
  torch::manual_seed(0);
  AutoEncoder ae(AutoEncoderOptions(inputs, hidden));
  const auto params = ae->parameters();
  torch::optim::SGD opt(params, torch::optim::SGDOptions(0.01).momentum(0.9));
  const auto contractive = contractive_penalty(spec);
  const auto data = torch::rand({20 * batch, inputs});
  int64_t i = 0;
  const auto step = [&] {
    const auto x = data.slice(0, (i % 20) * batch, (i % 20 + 1) * batch);
    ++i;
    clear_gradients(params);
    training_loss(*ae, spec, contractive, x).loss.backward({}, c10::nullopt, false, params);
    opt.step();
  };
  for (int w = 0; w < 10; ++w) step();
  const double carve_ms = median_ms(step, steps);

  // The products of a CAE step: encode x W^T, decode h W, and in the backward dZ W^T, h^T dZ,
  // dA^T x and dA W (the input's gradient, which carve does not compute).
  const auto x = torch::rand({batch, inputs}), w = torch::rand({hidden, inputs});
  const auto h = torch::rand({batch, hidden}), dz = torch::rand({batch, inputs});
  const auto da = torch::rand({batch, hidden});
  const auto products = [&] {
    torch::mm(x, w.t());
    torch::mm(h, w);
    torch::mm(dz, w.t());
    torch::mm(h.t(), dz);
    torch::mm(da.t(), x);
    torch::mm(da, w);
  };
  const double products_ms = median_ms(products, steps);
  const double gflops = 6 * 2.0 * batch * inputs * hidden / (products_ms * 1e6);

  nlohmann::json j{{"inputs", inputs}, {"hidden", hidden}, {"batch", batch},
                   {"carve_ms", carve_ms}, {"carve_examples_per_s", batch / (carve_ms / 1e3)},
                   {"roofline_ms", products_ms}, {"sgemm_gflops", gflops},
                   {"roofline_fraction", products_ms / carve_ms}};
  if (!python.empty()) {
    const auto py = run_peer_command(fmt::format("'{}' '{}' --inputs {} --hidden {} --batch {} --steps {} --threads {}",
                                                 python, peer, inputs, hidden, batch, steps, torch::get_num_threads()));
    j["python_ms"] = py["ms"];
    j["python_examples_per_s"] = py["examples_per_s"];
    j["carve_over_python"] = py["ms"].get<double>() / carve_ms;
  }
  return j;
}

int bench_train(int64_t steps, bool no_python, const std::string& format) {
  if (steps <= 0) throw UsageError(fmt::format("--steps must be positive, got {}", steps));
  const std::string python = no_python ? "" : "/usr/bin/python3";
  const std::string peer = std::string(CARVE_SOURCE_DIR) + "/tools/bench/train_peer.py";
  nlohmann::json r = nlohmann::json::array();
  r.push_back(bench_train_point(784, 1000, 100, steps, python, peer));
  r.push_back(bench_train_point(784, 64, 32, steps * 5, python, peer));
  if (format == "json") {
    std::cout << r.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("carve bench train: a CAE step (sigmoid, tied, analytic penalty, SGD), {} threads\n\n",
                           torch::get_num_threads());
  const auto verdict = [](bool ok) { return ok ? "met" : "MISSED"; };
  for (size_t k = 0; k < r.size(); ++k) {
    const auto& p = r[k];
    std::cout << fmt::format("{} -> {}, batch {}: carve {:.3f} ms/step ({:.0f} examples/s)", p["inputs"].get<int64_t>(),
                             p["hidden"].get<int64_t>(), p["batch"].get<int64_t>(), p["carve_ms"].get<double>(),
                             p["carve_examples_per_s"].get<double>());
    if (p.contains("python_ms")) {
      std::cout << fmt::format(", python {:.3f} ms/step ({:.0f} examples/s)", p["python_ms"].get<double>(),
                               p["python_examples_per_s"].get<double>());
    }
    std::cout << fmt::format("\n  six products at {:.1f} GFLOP/s (sgemm measured now): {:.3f} ms\n",
                             p["sgemm_gflops"].get<double>(), p["roofline_ms"].get<double>());
    const double goal = k == 0 ? 1.2 : 3.0;
    if (p.contains("carve_over_python")) {
      std::cout << fmt::format("  carve / python throughput   {:>6.2f}x   goal >= {:.1f}x   {}\n",
                               p["carve_over_python"].get<double>(), goal, verdict(p["carve_over_python"].get<double>() >= goal));
    }
    if (k == 0) {
      std::cout << fmt::format("  fraction of the roofline    {:>6.1f}%   goal >= 90%   {}\n",
                               100 * p["roofline_fraction"].get<double>(), verdict(p["roofline_fraction"].get<double>() >= 0.9));
    }
    std::cout << "\n";
  }
  return 0;
}

// carve bench rbm: one epoch of PCD-1 (784 -> 1000, batch 100, plain SGD at 0.1) beside
// scikit-learn's BernoulliRBM doing the same on the same number of examples.
int bench_rbm(int64_t examples, int64_t repeats, bool no_python, const std::string& format) {
  if (examples <= 0 || repeats <= 0) throw UsageError("--examples and --repeats must be positive");
  const int64_t visible = 784, hidden = 1000, batch = 100;
  torch::manual_seed(0);
  const auto x = torch::bernoulli(torch::full({examples, visible}, 0.2));
  double best = 1e300;
  for (int64_t r = 0; r < repeats; ++r) {
    RBM rbm(RBMOptions(visible, hidden));
    torch::optim::SGD opt(rbm->parameters(), torch::optim::SGDOptions(0.1));
    ContrastiveDivergence cd(CDOptions().k(1).persistent(true));
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < examples; i += batch) {
      cd.accumulate(*rbm, x.slice(0, i, i + batch));
      opt.step();
    }
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  nlohmann::json j{{"visible", visible}, {"hidden", hidden}, {"batch", batch}, {"examples", examples},
                   {"threads", torch::get_num_threads()}, {"carve_seconds", best},
                   {"carve_examples_per_s", examples / best}};
  if (!no_python) {
    for (const char* dtype : {"float32", "float64"}) {
      const auto py = run_peer_command(fmt::format(
          "/usr/bin/python3 '{}/tools/bench/rbm_peer.py' --examples {} --repeats {} --threads {} --dtype {}",
          CARVE_SOURCE_DIR, examples, repeats, torch::get_num_threads(), dtype));
      j[std::string("sklearn_") + dtype + "_examples_per_s"] = py["examples_per_s"];
      j[std::string("carve_over_sklearn_") + dtype] = py["seconds"].get<double>() / best;
    }
  }
  if (format == "json") {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("carve bench rbm: one epoch of PCD-1, {} -> {}, batch {}, {} examples, {} threads\n\n"
                           "carve (float32)                 {:>9.0f} examples/s\n",
                           visible, hidden, batch, examples, torch::get_num_threads(), examples / best);
  if (!no_python) {
    for (const char* dtype : {"float32", "float64"}) {
      const double ratio = j[std::string("carve_over_sklearn_") + dtype].get<double>();
      std::cout << fmt::format("scikit-learn BernoulliRBM ({})  {:>9.0f} examples/s   carve / sklearn {:.2f}x   goal >= 3x   {}\n",
                               dtype, j[std::string("sklearn_") + dtype + "_examples_per_s"].get<double>(), ratio,
                               ratio >= 3 ? "met" : "MISSED");
    }
  }
  return 0;
}

int bench_data(int64_t repeats, const std::string& format) {
  if (repeats <= 0) throw UsageError(fmt::format("--repeats must be positive, got {}", repeats));
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  std::string files;
  for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) {
    files += " '" + dir + "/" + f + "'";
  }
  const std::string zcat = "zcat" + files + " > /dev/null";
  // Interleaved, so that drift on a shared machine hits both alike.
  double zcat_ms = 1e300, load_ms = 1e300;
  for (int64_t r = 0; r < repeats; ++r) {
    zcat_ms = std::min(zcat_ms, median_ms([&] {
      if (std::system(zcat.c_str()) != 0) throw std::runtime_error("zcat failed: " + zcat);
    }, 1));
    load_ms = std::min(load_ms, median_ms([&] { load_dataset("fashion-mnist"); }, 1));
  }
  const double ratio = load_ms / zcat_ms;
  if (format == "json") {
    nlohmann::json j{{"zcat_ms", zcat_ms}, {"carve_load_ms", load_ms}, {"ratio", ratio},
                     {"examples", 70000}, {"repeats", repeats}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format(
      "carve bench data: all 70,000 Fashion-MNIST images and labels (IDX, gzip), best of {}\n\n"
      "zcat of the four files      {:>9.1f} ms\n"
      "carve load (float32 [0,1])  {:>9.1f} ms\n"
      "carve / zcat                {:>9.2f}x   goal <= 2x   {}\n",
      repeats, zcat_ms, load_ms, ratio, ratio <= 2 ? "met" : "MISSED");
  return 0;
}

}  // namespace

void add_bench_commands(CLI::App& app, Action& action) {
  auto* bench = app.add_subcommand("bench", "benchmarks that print ratios measured side by side");
  auto* penalty = bench->add_subcommand(
      "penalty", "contractive penalty cost beside an AE step and beside PyTorch/functorch");
  auto a = std::make_shared<BenchArgs>();
  penalty->add_option("--inputs", a->inputs, "input units")->capture_default_str();
  penalty->add_option("--hidden", a->hidden, "hidden units")->capture_default_str();
  penalty->add_option("--batch", a->batch, "examples per batch")->capture_default_str();
  penalty->add_option("--repeats", a->repeats, "timed repetitions of each step")->capture_default_str();
  penalty->add_option("--exact-repeats", a->exact_repeats, "timed repetitions of the exact penalty")
      ->capture_default_str();
  penalty->add_option("--python", a->python, "python with torch for the peer")->capture_default_str();
  penalty->add_option("--peer", a->peer, "the peer script")->capture_default_str();
  penalty->add_flag("--no-python", a->no_python, "skip the Python peer");
  penalty->add_option("--format", a->format, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  penalty->callback([&action, a] { action = [a] { return bench_penalty(*a); }; });

  auto* train = bench->add_subcommand("train", "CAE training throughput beside a PyTorch script and the GEMM roofline");
  auto t = std::make_shared<std::tuple<int64_t, bool, std::string>>(200, false, "table");
  train->add_option("--steps", std::get<0>(*t), "timed steps (median)")->capture_default_str();
  train->add_flag("--no-python", std::get<1>(*t), "skip the Python peer");
  train->add_option("--format", std::get<2>(*t), "table or json")->check(CLI::IsMember({"table", "json"}));
  train->callback([&action, t] { action = [t] { return bench_train(std::get<0>(*t), std::get<1>(*t), std::get<2>(*t)); }; });

  auto* rbm = bench->add_subcommand("rbm", "RBM PCD-1 training throughput beside scikit-learn's BernoulliRBM");
  auto rb = std::make_shared<std::tuple<int64_t, int64_t, bool, std::string>>(5000, 3, false, "table");
  rbm->add_option("--examples", std::get<0>(*rb), "examples per epoch")->capture_default_str();
  rbm->add_option("--repeats", std::get<1>(*rb), "epochs timed (best of)")->capture_default_str();
  rbm->add_flag("--no-python", std::get<2>(*rb), "skip the scikit-learn peer");
  rbm->add_option("--format", std::get<3>(*rb), "table or json")->check(CLI::IsMember({"table", "json"}));
  rbm->callback([&action, rb] {
    action = [rb] { return bench_rbm(std::get<0>(*rb), std::get<1>(*rb), std::get<2>(*rb), std::get<3>(*rb)); };
  });

  auto* data = bench->add_subcommand("data", "loading Fashion-MNIST beside zcat of the same files");
  auto d = std::make_shared<std::pair<int64_t, std::string>>(5, "table");
  data->add_option("--repeats", d->first, "rounds (best of)")->capture_default_str();
  data->add_option("--format", d->second, "table or json")->check(CLI::IsMember({"table", "json"}));
  data->callback([&action, d] { action = [d] { return bench_data(d->first, d->second); }; });
}

}  // namespace carve::cli
