/// Benchmarks as a library unit: each takes a config, measures side by side in one run (this
/// machine is shared and noisy, so only ratios of neighbouring measurements mean anything), and
/// returns a JSON result that `to_table` renders; `carve bench ...` only parses flags and prints.
/// The training steps they time are the trainer's own (make_pretrainable + make_optimizer).
///
///   carve::bench::TrainBenchConfig c;  c.python = "";           // no Python peer
///   nlohmann::json r = carve::bench::bench_train(c);
///   std::cout << carve::bench::to_table(r);
///
/// Every result carries "goals": [{"name", "measured", "comparison" (">=" or "<="), "target",
/// "met"}], so that the verdicts are data, not printing.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace carve::bench {

/// `carve bench penalty`: the contractive penalty's cost beside an AE step, and beside a Python
/// peer (tools/bench/penalty_peer.py) when `python` is set, both on `device` (resolve_device's
/// names; CUDA work is timed to its end).
struct PenaltyBenchConfig {
  int64_t inputs = 784, hidden = 1000, batch = 100, repeats = 20, exact_repeats = 3;
  std::string python;          ///< "" = no peer
  std::string peer;            ///< the peer script
  std::string device = "cpu";  ///< where both sides run
};
nlohmann::json bench_penalty(const PenaltyBenchConfig& config);

/// `carve bench train`: a CAE step (the paper's size at batch 20 and 100, and a small model)
/// beside a PyTorch script and the roofline of the five matrix products it requires, each timed
/// alone at its shapes, all on `device`; and fine-tuning's step (784 -> 1000 -> 10, batch 20),
/// fused and through autograd, beside its own five-product roofline.
/// The goals differ by device: on the CPU the roofline issue's (fraction of the GEMM roofline,
/// throughput over Python); on CUDA issue 13's (throughput >= 1.2x Python on the same GPU).
struct TrainBenchConfig {
  int64_t steps = 200;
  std::string python;          ///< "" = no peer
  std::string peer;            ///< tools/bench/train_peer.py
  std::string device = "cpu";  ///< where both sides run
};
nlohmann::json bench_train(const TrainBenchConfig& config);

/// `carve bench rbm`: one epoch of PCD-1 beside scikit-learn's BernoulliRBM and the roofline of
/// its step's five matrix products, each timed alone at its shapes (the goal: 85% of it).
struct RbmBenchConfig {
  int64_t examples = 5000, repeats = 3;
  std::string python;  ///< "" = no peer
  std::string peer;    ///< tools/bench/rbm_peer.py
};
nlohmann::json bench_rbm(const RbmBenchConfig& config);

/// `carve bench data`: loading Fashion-MNIST beside zcat of the same files.
struct DataBenchConfig {
  int64_t repeats = 5;
  std::string directory = "/usr/share/datasets/fashion-mnist";
};
nlohmann::json bench_data(const DataBenchConfig& config);

/// `carve bench run FILE`: one task of an experiment file (the only one, or `task`) run on the CPU
/// with carve::profile on (carve/profile.h), into `out` (a temporary directory when empty,
/// removed after), its analysis block off: where the wall time went (data loading, pretraining
/// steps, per-epoch metrics, fine-tuning steps, evaluation, checkpoints and other writes, other)
/// and the whole run's share of its roofline, Σ_k n_k t_k / T_wall, k over the products the run
/// requires (its steps' and its evaluations' forward products), n_k counted by the run, t_k the
/// median time of that product alone at its shape and threads, timed again every
/// `calibrate_every` epochs (the calibrations' time left out of T_wall).
struct RunBenchConfig {
  std::string file;
  std::vector<std::string> set;  ///< key=value overrides, as carve run --set
  std::string task;              ///< "" = the file's only task
  std::string out;               ///< "" = a temporary directory
  int64_t calibrate_every = 5;
};
nlohmann::json bench_run(const RunBenchConfig& config);

/// The human-readable form of any of the results above.
std::string to_table(const nlohmann::json& result);

}  // namespace carve::bench
