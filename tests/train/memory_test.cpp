// Memory bounds (issue 14, point 5): the estimate of a run's large allocations, and runs that
// cannot fit refused before allocation in one line naming the key and the memory.
#include "carve/train/memory.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <limits>

#include "support/devices.h"
#include "support/run_command.h"
#include "support/temp_dir.h"
#include "support/toy_plans.h"

namespace carve {
namespace {

using testing::count_lines;
using testing::quoted;
using testing::run_carve;
using testing::TempDir;

ExperimentSpec spec_of(const std::string& yaml) {
  return parse_experiment("name: m\ndata: {dataset: mnist}\n" + yaml, "m.yaml");
}

int64_t bytes_of(const MemoryEstimate& e, const std::string& key) {
  for (const auto& i : e.items) {
    if (i.key == key) return i.bytes;
  }
  return -1;
}

// Sets an environment variable for one scope.
struct ScopedEnv {
  ScopedEnv(const char* name, const std::string& value) : name_(name) { setenv(name, value.c_str(), 1); }
  ~ScopedEnv() { unsetenv(name_); }
  const char* name_;
};

TEST(Memory, EstimateCountsWeightsGradientsAndOptimizerState) {
  // Tied AE 784 -> 1000, SGD with momentum: W, biases; x3 (value, gradient, momentum); float32.
  const auto tied = estimate_run_memory(
      spec_of("model: {hidden: 1000}\noptimizer: {momentum: 0.9}\ntraining: {batch_size: 20}\n"), 784, 50000);
  EXPECT_EQ(bytes_of(tied, "model.hidden"), (784 * 1000 + 1000 + 784) * 3 * 4);
  EXPECT_EQ(bytes_of(tied, "training.batch_size"), 20 * (2 * 784 + 1000) * 4);
  EXPECT_EQ(bytes_of(tied, "model.ais_runs"), -1);
  // Untied with Adam: two weight matrices, x4 (value, gradient, two moments).
  const auto untied = estimate_run_memory(
      spec_of("model: {hidden: 1000, tied: false}\noptimizer: {type: adam}\n"), 784, 50000);
  EXPECT_EQ(bytes_of(untied, "model.hidden"), (2 * 784 * 1000 + 1000 + 784) * 4 * 4);
  // The batch is at most the training set.
  const auto small = estimate_run_memory(spec_of("training: {batch_size: 100000}\n"), 10, 30);
  EXPECT_EQ(bytes_of(small, "training.batch_size"), 30 * (2 * 10 + 1000) * 4);
}

TEST(Memory, EstimateCountsRegularizersAndRbmSamplers) {
  const auto cae = estimate_run_memory(
      spec_of("model: {hidden: 100}\nregularizers: {contractive: {weight: 0.1, method: stochastic, projections: 8},"
              " higher_order: {weight: 0.1, corruptions: 4}}\ntraining: {batch_size: 10}\n"),
      50, 1000);
  EXPECT_EQ(bytes_of(cae, "regularizers.contractive.projections"), 8 * 10 * 50 * 4);
  EXPECT_EQ(bytes_of(cae, "regularizers.higher_order.corruptions"), 4 * 10 * 150 * 4);
  const auto rbm = estimate_run_memory(
      spec_of("model: {type: rbm, hidden: 500, persistent: true, chains: 1000, ais_runs: 100000}\n"), 784, 1000);
  EXPECT_EQ(bytes_of(rbm, "model.chains"), 1000 * 1284 * 4);
  EXPECT_EQ(bytes_of(rbm, "model.ais_runs"), int64_t{100000} * 1284 * 2 * 8);
  // A small RBM's partition function is exact (no AIS).
  EXPECT_EQ(bytes_of(estimate_run_memory(spec_of("model: {type: rbm, hidden: 20}\n"), 784, 1000), "model.ais_runs"), -1);
}

TEST(Memory, HugeSizesSaturateInsteadOfOverflowing) {
  const auto e = estimate_run_memory(spec_of("model: {hidden: 4611686018427387904}\n"), 784, 1000);
  EXPECT_EQ(e.total(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(e.largest().key, "model.hidden");
}

TEST(Memory, CheckRefusesInOneLineNamingTheKeyAndTheMemory) {
  const auto spec = spec_of("model: {hidden: 100000}\n");  // 784 x 100000 x 2 x 4 B = 598 MiB
  ScopedEnv env("CARVE_TEST_AVAILABLE_MEMORY", std::to_string(int64_t{256} << 20));
  try {
    check_run_fits(spec, 784, 1000, torch::kCPU);
    FAIL() << "expected a ResourceError";
  } catch (const ResourceError& e) {
    // (784 x 100000 + 100784) x 2 x 4 B of weights and gradients, and a batch of 20.
    const int64_t weights = (int64_t{784} * 100000 + 100784) * 2 * 4, batch = 20 * (2 * 784 + 100000) * 4;
    EXPECT_EQ(std::string(e.what()),
              "m.yaml: needs at least " + format_bytes(weights + batch) +
                  " of memory, 256.0 MiB available (CARVE_TEST_AVAILABLE_MEMORY): "
                  "model.hidden = 100000 sizes the weights and their gradients (" + format_bytes(weights) + ")");
    EXPECT_EQ(format_bytes(weights), "598.9 MiB");
  }
  setenv("CARVE_TEST_AVAILABLE_MEMORY", std::to_string(int64_t{1} << 30).c_str(), 1);
  EXPECT_NO_THROW(check_run_fits(spec, 784, 1000, torch::kCPU));
}

TEST(Memory, AvailableMemoryIsBoundedByWhatTheMachineHas) {
  const auto available = available_memory(torch::kCPU);
  ASSERT_GT(available.bytes, 0) << "no bound found on Linux";
  // MemAvailable and the other bounds cannot exceed the machine's memory.
  EXPECT_LE(available.bytes, static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE));
  EXPECT_FALSE(available.source.empty());
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(int64_t{3} << 30), "3.0 GiB");
}

TEST(Memory, CarveRunRefusesARunThatCannotFitBeforeItsDirectoryExists) {
  TempDir dir;
  testing::write_toy_amat(dir, "toy.amat", 100);
  // 25 inputs x 10^12 hidden units: terabytes, more than any machine that runs this test.
  auto yaml = testing::toy_base(dir, "huge");
  yaml.replace(yaml.find("hidden: 6"), 9, "hidden: 1000000000000");
  dir.write("huge.yaml", yaml);
  const auto r = run_carve("run " + quoted(dir.file("huge.yaml")) + " --out " + quoted(dir.file("run")));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("huge.yaml: needs at least"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("model.hidden = 1000000000000 sizes the weights"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("run")));
}

}  // namespace
}  // namespace carve

namespace carve {
namespace {

// CUDA variant: the card's free memory bounds a run on it.
TEST(MemoryCuda, TheCardsFreeMemoryBoundsARun) {
  CARVE_REQUIRE_CUDA();
  const auto free = available_memory(torch::kCUDA);
  ASSERT_GT(free.bytes, 0) << "cudaMemGetInfo was not found in the CUDA runtime LibTorch loaded";
  EXPECT_EQ(free.source, "cudaMemGetInfo");
  EXPECT_THROW(check_run_fits(spec_of("model: {hidden: 1000000000000}\n"), 784, 1000, torch::kCUDA), ResourceError);
  EXPECT_NO_THROW(check_run_fits(spec_of("model: {hidden: 100}\n"), 784, 1000, torch::kCUDA));
}

}  // namespace
}  // namespace carve
