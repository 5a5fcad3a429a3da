// Small experiment files for the tests of plans, tasks, --jobs and SLURM: a two-class amat file
// and a sweep, a suite with a per-run sweep, a sweep with a point that fails, a slow sweep.
#pragma once

#include <torch/torch.h>

#include <string>

#include "carve/data/amat.h"
#include "support/temp_dir.h"

namespace carve::testing {

// `n` examples of 5x5 inputs in two classes, written to dir/name.
inline void write_toy_amat(const TempDir& dir, const std::string& name, int64_t n, int64_t side = 5) {
  torch::manual_seed(0);
  const auto labels = torch::randint(0, 2, {n}, torch::kInt64);
  const auto images =
      torch::rand({n, 1, side, side}) * 0.5 + labels.view({n, 1, 1, 1}).to(torch::kFloat32) * 0.5;
  write_amat(dir.file(name), {images, labels});
}

// The base of every toy file: `data` is an amat file in `dir`.
inline std::string toy_base(const TempDir& dir, const std::string& name, const std::string& data = "toy.amat",
                            int epochs = 2, int batch = 20) {
  return "name: " + name + "\nseed: 3\ndevice: cpu\ndata: {dataset: 'amat:" + dir.file(data) +
         "', valid: 40, test: 40}\nmodel: {hidden: 6}\noptimizer: {lr: 0.05, momentum: 0.9}\n"
         "training: {epochs: " + std::to_string(epochs) + ", batch_size: " + std::to_string(batch) + "}\n";
}

// Writes dir/toy.amat (200 examples) and dir/sweep.yaml (three learning rates).
inline std::string toy_sweep(const TempDir& dir) {
  write_toy_amat(dir, "toy.amat", 200);
  dir.write("sweep.yaml", toy_base(dir, "toy-sweep") + "sweep:\n  optimizer.lr: [0.01, 0.05, 0.1]\n");
  return dir.file("sweep.yaml");
}

// A suite of two runs over seeds 1 and 2; the second chooses its learning rate by a sweep
// (late-bound seeds), and both fine-tune.
inline std::string toy_suite(const TempDir& dir) {
  write_toy_amat(dir, "toy.amat", 200);
  dir.write("suite.yaml", toy_base(dir, "toy-suite") +
                              "finetune: {epochs: 2, batch_size: 20}\n"
                              "suite:\n  seeds: [1, 2]\n  runs:\n"
                              "    - name: AE\n"
                              "    - name: CAE\n      set: {regularizers.contractive.weight: 0.1}\n"
                              "      sweep: {optimizer.lr: [0.02, 0.1]}\n");
  return dir.file("suite.yaml");
}

// A sweep whose second point reads a damaged data file (valid when the file is checked, broken
// when it is read): that task fails.
inline std::string toy_failing_sweep(const TempDir& dir) {
  write_toy_amat(dir, "toy.amat", 200);
  write_toy_amat(dir, "bad.amat", 200);
  std::ofstream(dir.file("bad.amat"), std::ios::app) << "0.1 0.2 oops 1\n";
  dir.write("fail.yaml", toy_base(dir, "toy-fail") + "sweep:\n  data.dataset: ['amat:" + dir.file("toy.amat") +
                             "', 'amat:" + dir.file("bad.amat") + "']\n");
  return dir.file("fail.yaml");
}

// Two points of 40 epochs: long enough to be signalled while they run (within an epoch or between two).
inline std::string toy_slow_sweep(const TempDir& dir) {
  write_toy_amat(dir, "big.amat", 2000, 8);
  dir.write("slow.yaml", toy_base(dir, "toy-slow", "big.amat", 40, 5) +
                             "regularizers: {contractive: {weight: 0.1}}\nsweep:\n  optimizer.lr: [0.01, 0.05]\n");
  return dir.file("slow.yaml");
}

}  // namespace carve::testing
