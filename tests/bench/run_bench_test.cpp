// carve bench run (issue 29, point 2): a run's wall time split by phase with nothing counted
// twice, and the products the run requires counted by the run itself.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "carve/bench/benchmarks.h"
#include "carve/error.h"
#include "carve/profile.h"
#include "support/temp_dir.h"
#include "support/toy_plans.h"

namespace carve::bench {
namespace {

// Time in an inner scope is its own phase's, not the outer one's: the phases partition the wall
// time (their sum is it) and each holds at least what was spent in it alone.
TEST(Profile, ScopesPartitionTheWallTimeAndCountProducts) {
  EXPECT_FALSE(profile::enabled());
  profile::count_product(profile::Phase::evaluation, "off", {2, 3, 4});  // off: not counted
  profile::start(100);
  {
    profile::Scope outer(profile::Phase::evaluation);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    {
      profile::Scope inner(profile::Phase::writes);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    profile::count_product(profile::Phase::evaluation, "a b", {8, 16, 4}, 3);
    profile::count_product(profile::Phase::evaluation, "a b", {8, 16, 4});
  }
  const auto r = profile::stop();
  EXPECT_FALSE(profile::enabled());
  const auto at = [&](profile::Phase p) { return r.seconds[static_cast<int>(p)]; };
  EXPECT_GE(at(profile::Phase::evaluation), 0.02);
  EXPECT_GE(at(profile::Phase::writes), 0.02);
  double sum = 0;
  for (const double s : r.seconds) sum += s;
  EXPECT_NEAR(sum, r.wall_seconds, 1e-9);
  ASSERT_EQ(r.products.size(), 1u);
  const auto& [key, total] = *r.products.begin();
  EXPECT_EQ(std::get<1>(key), "a b");
  EXPECT_EQ(total.count, 4);
  EXPECT_EQ(r.calibrations, 1);  // the last one, at stop
  EXPECT_GT(total.last_ms, 0.0);
  EXPECT_NEAR(total.seconds, 4 * total.last_ms / 1e3, 1e-12);
  EXPECT_NEAR(r.roofline_seconds(), total.seconds, 1e-15);
}

// A toy run with fine-tuning: 120 training examples in batches of 20 for two epochs, each phase
// timed, each product counted as often as the run makes it.
TEST(BenchRun, BreaksTheWallTimeDownAndCountsTheRunsProducts) {
  testing::TempDir dir;
  testing::write_toy_amat(dir, "toy.amat", 200);
  dir.write("run.yaml", testing::toy_base(dir, "toy-run") + "finetune: {epochs: 2, batch_size: 20, patience: 0}\n");
  RunBenchConfig c;
  c.file = dir.file("run.yaml");
  c.out = dir.file("out");
  c.calibrate_every = 1;
  const auto r = bench_run(c);
  EXPECT_FALSE(profile::enabled());
  EXPECT_EQ(r["bench"], "run");
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "out" / "summary.json"));
  EXPECT_GE(r["calibrations"].get<int>(), 4);  // after each of 2 + 2 epochs (and at the end, when counts are left)
  const double wall = r["wall_seconds"].get<double>();
  double sum = 0, roofline = 0;
  for (const auto& p : r["phases"]) sum += p["seconds"].get<double>(), roofline += p["roofline_seconds"].get<double>();
  EXPECT_NEAR(sum, wall, 1e-9 * wall);
  EXPECT_NEAR(roofline, r["roofline_seconds"].get<double>(), 1e-9);
  EXPECT_NEAR(r["roofline_fraction"].get<double>(), roofline / wall, 1e-12);
  const auto count = [&](const std::string& phase, const std::string& name, int64_t m, int64_t k, int64_t n) {
    for (const auto& p : r["products"]) {
      if (p["phase"] == phase && p["name"] == name && p["shape"]["m"] == m && p["shape"]["k"] == k && p["shape"]["n"] == n) {
        return p["count"].get<int64_t>();
      }
    }
    return int64_t{-1};
  };
  // 12 steps of pretraining: a tied auto-encoder 25 -> 6, batch 20.
  EXPECT_EQ(count("pretraining steps", "encode x W^T", 20, 25, 6), 12);
  EXPECT_EQ(count("pretraining steps", "decode h M", 20, 6, 25), 12);
  EXPECT_EQ(count("pretraining steps", "code gradient dZ M^T", 20, 25, 6), 12);
  EXPECT_EQ(count("pretraining steps", "encoder weight gradient dA^T x", 6, 20, 25), 12);
  EXPECT_EQ(count("pretraining steps", "decoder weight gradient h^T dZ", 6, 20, 25), 12);
  // Each epoch: the 40 validation examples reconstructed, and encoded for the Jacobian norm.
  EXPECT_EQ(count("per-epoch metrics", "decode (monitoring)", 40, 6, 25), 2);
  EXPECT_EQ(count("per-epoch metrics", "encode (monitoring)", 40, 25, 6), 4);
  // 12 steps of fine-tuning 25 -> 6 -> 2: two forward and three backward products.
  EXPECT_EQ(count("fine-tuning steps", "forward h W^T", 20, 25, 6), 12);
  EXPECT_EQ(count("fine-tuning steps", "forward h W^T", 20, 6, 2), 12);
  EXPECT_EQ(count("fine-tuning steps", "weight gradient dA^T h", 2, 20, 6), 12);
  EXPECT_EQ(count("fine-tuning steps", "backward dA W", 20, 2, 6), 12);
  EXPECT_EQ(count("fine-tuning steps", "weight gradient dA^T h", 6, 20, 25), 12);
  EXPECT_EQ(count("fine-tuning steps", "backward dA W", 20, 6, 25), -1);  // no input gradient
  // Error rates each fine-tuning epoch on train, valid and test, and the final predictions.
  EXPECT_EQ(count("evaluation", "classify (error rates)", 120, 25, 6), 2);
  EXPECT_EQ(count("evaluation", "classify (error rates)", 40, 25, 6), 5);
  for (const auto& p : r["phases"]) {
    EXPECT_GE(p["seconds"].get<double>(), 0.0) << p["phase"];
    if (p["phase"] == "pretraining steps" || p["phase"] == "fine-tuning steps") EXPECT_GT(p["seconds"].get<double>(), 0.0);
  }
  EXPECT_NE(to_table(r).find("the run's roofline"), std::string::npos);

  // A file of several tasks needs --task.
  RunBenchConfig suite;
  suite.file = testing::toy_suite(dir);
  try {
    bench_run(suite);
    ADD_FAILURE() << "no error for a suite without --task";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--task"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(profile::enabled());
}

}  // namespace
}  // namespace carve::bench
