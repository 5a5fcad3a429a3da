// Every shape of run — a single run with fine-tuning, a two-key sweep, a suite with seeds and a
// sweep of its own, a stack — stopped (as by SIGINT) every few training steps and resumed each
// time until it finishes, ends exactly where an uninterrupted run does: every CSV cell but the
// wall-clock seconds, every summary.json number, every exported parameter. Interruptions land
// in first epochs (before any epoch's checkpoint), mid-epoch, at epoch ends, between points,
// layers and seeds, and in fine-tuning. A run killed before its first checkpoint restarts.
#include <gtest/gtest.h>
#include <torch/script.h>

#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "carve/data/amat.h"
#include "carve/orchestration/sweep.h"
#include "carve/train/stop.h"
#include "support/csv.h"
#include "support/devices.h"
#include "support/messages.h"
#include "support/run_command.h"
#include "support/same_results.h"
#include "support/temp_dir.h"

namespace carve {
namespace {

namespace fs = std::filesystem;

using testing::Messages;

class Interrupt : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(0);
    const auto labels = torch::randint(0, 2, {200}, torch::kInt64);
    const auto images = torch::rand({200, 1, 5, 5}) * 0.5 + labels.view({200, 1, 1, 1}).to(torch::kFloat32) * 0.5;
    write_amat(dir.file("two.amat"), {images, labels});
  }
  void TearDown() override {
    after_steps(0, {});
    clear_stop_request();
  }
  // 120 training examples in batches of 16: 8 steps an epoch, fine-tuning in batches of 25: 5.
  std::string base(const std::string& name) const {
    return "name: " + name + "\nseed: 5\ndevice: cpu\ndata: {dataset: 'amat:" + dir.file("two.amat") +
           "', valid: 40, test: 40}\nmodel: {hidden: 6}\noptimizer: {lr: 0.05, momentum: 0.9}\n"
           "training: {epochs: 2, batch_size: 16}\nfinetune: {epochs: 2, batch_size: 25, patience: 0}\n";
  }

  // Runs `file` into `out` to the end, stopped after every `every` training steps and resumed
  // each time; `after_first` runs after the first stop. Returns the number of stops.
  int run_interrupted(const std::string& file, const std::string& out, int64_t every,
                      const std::function<void()>& after_first = {}) {
    for (int stops = 0;; ++stops) {
      RunOptions o;
      o.out = dir.file(out);
      o.resume = stops > 0;
      after_steps(every, [] { request_stop(SIGINT); });
      try {
        run_file(dir.file(file), {}, o);
        after_steps(0, {});
        return stops;
      } catch (const Interrupted& e) {
        EXPECT_EQ(e.signal(), SIGINT);
        EXPECT_EQ(e.exit_code(), 130);
        clear_stop_request();
        if (stops == 0 && after_first) after_first();
      }
      if (stops > 400) {
        ADD_FAILURE() << "does not finish";
        return stops;
      }
    }
  }
  void run_straight(const std::string& file, const std::string& out, const std::vector<std::string>& overrides = {}) {
    RunOptions o;
    o.out = dir.file(out);
    run_file(dir.file(file), overrides, o);
  }

  void expect_same(const std::string& a, const std::string& b) const {
    testing::expect_same_results(dir.path() / a, dir.path() / b);
  }

  testing::TempDir dir;
};

TEST_F(Interrupt, SingleRunWithFineTuningAtEveryMoment) {
  dir.write("one.yaml", base("one") +
                            "corruption: {type: gaussian, level: 0.1}\n"
                            "regularizers: {contractive: {weight: 0.1, method: stochastic, projections: 2}}\n");
  run_straight("one.yaml", "straight");
  for (const int every : {1, 3, 7}) {
    const auto out = "every-" + std::to_string(every);
    EXPECT_GE(run_interrupted("one.yaml", out, every), 24 / every) << every;  // 16 + 10 steps, the last of each phase runs on
    expect_same("straight", out);
  }
  EXPECT_TRUE(fs::exists(dir.path() / "straight" / "classifier.pt"));
  EXPECT_TRUE(fs::exists(dir.path() / "straight" / "finetune.pt"));
}

// CUDA variant: on the GPU too a run stopped and resumed (the checkpoint carries the CUDA
// generator's state) ends exactly where a straight one does, fine-tuning included.
TEST_F(Interrupt, OnCudaAStoppedRunEndsWhereAStraightOneDoes) {
  CARVE_REQUIRE_CUDA();
  auto yaml = base("gpu") + "corruption: {type: gaussian, level: 0.1}\n"
                            "regularizers: {contractive: {weight: 0.1, method: stochastic, projections: 2}}\n";
  yaml.replace(yaml.find("device: cpu"), 11, "device: cuda");
  dir.write("gpu.yaml", yaml);
  run_straight("gpu.yaml", "straight");
  const auto summary = nlohmann::json::parse(testing::slurp(dir.path() / "straight" / "summary.json"));
  EXPECT_EQ(summary["device"], "cuda");
  EXPECT_GE(run_interrupted("gpu.yaml", "every-3", 3), 8);
  expect_same("straight", "every-3");
}

TEST_F(Interrupt, TwoKeySweepIncludingAPointKilledBeforeItsFirstCheckpoint) {
  dir.write("sweep.yaml", base("sweep") +
                              "sweep: {regularizers.contractive.weight: [0.0, 0.1], corruption.level: [0.0, 0.2]}\n"
                              "corruption: {type: masking}\n");
  run_straight("sweep.yaml", "straight");
  // After the first stop, the point's checkpoint is removed: as if the process had been killed
  // in its first epoch. Resuming restarts that point.
  const auto killed = [&] {
    for (const auto& e : fs::directory_iterator(dir.path() / "every-5")) {
      if (!e.is_directory()) continue;
      fs::remove(e.path() / "checkpoint.pt");
      fs::remove(e.path() / "checkpoint.previous.pt");
    }
  };
  EXPECT_GE(run_interrupted("sweep.yaml", "every-5", 5, killed), 4 * 26 / 5);
  expect_same("straight", "every-5");
  EXPECT_GE(run_interrupted("sweep.yaml", "every-11", 11), 4 * 26 / 11);
  expect_same("straight", "every-11");
}

TEST_F(Interrupt, SuiteWithSeedsAndASweepOfItsOwn) {
  dir.write("suite.yaml", base("suite") +
                              "suite:\n  seeds: [1, 2]\n  runs:\n    - {name: AE}\n"
                              "    - name: CAE\n      set: {regularizers.contractive.weight: 0.1}\n"
                              "      sweep: {finetune.optimizer.lr: [0.01, 0.05]}\n");
  run_straight("suite.yaml", "straight");
  EXPECT_GE(run_interrupted("suite.yaml", "every-9", 9), 5 * 26 / 9);
  expect_same("straight", "every-9");
}

TEST_F(Interrupt, StackLayersAndItsFineTuning) {
  dir.write("stack.yaml", base("stack") +
                              "stack:\n  - {regularizers.contractive.weight: 0.1}\n  - {model.type: rbm, model.hidden: 4}\n");
  run_straight("stack.yaml", "straight");
  EXPECT_GE(run_interrupted("stack.yaml", "every-4", 4), 42 / 4);  // 2 x 16 + 10 steps
  expect_same("straight", "every-4");
}

// More epochs on --resume continue the same run: pretraining and fine-tuning each end where a
// run given the larger counts from the start ends.
TEST_F(Interrupt, EpochsGrownOnResumeContinueTheSameRun) {
  dir.write("short.yaml", base("grow"));
  run_straight("short.yaml", "straight", {"training.epochs=4", "finetune.epochs=3"});
  run_straight("short.yaml", "grown");
  RunOptions o;
  o.out = dir.file("grown");
  o.resume = true;
  // Pretraining grows: fine-tuning starts again, on the new encoder.
  auto first = std::make_shared<Messages>();
  o.observers = {first};
  run_file(dir.file("short.yaml"), {"training.epochs=4"}, o);
  EXPECT_TRUE(first->any("resuming after epoch 2")) << first->all();
  EXPECT_TRUE(first->any("the encoder changed since finetune.pt: fine-tuning afresh")) << first->all();
  // Fine-tuning grows: it continues.
  auto second = std::make_shared<Messages>();
  o.observers = {second};
  run_file(dir.file("short.yaml"), {"training.epochs=4", "finetune.epochs=3"}, o);
  EXPECT_TRUE(second->any("resuming fine-tuning after epoch 2")) << second->all();
  expect_same("straight", "grown");
  // Nothing grew: the finished run is read back, fine-tuning is not run again.
  auto third = std::make_shared<Messages>();
  o.observers = {third};
  run_file(dir.file("short.yaml"), {"training.epochs=4", "finetune.epochs=3"}, o);
  EXPECT_TRUE(third->any("fine-tuning finished before")) << third->all();
  expect_same("straight", "grown");
}

// Through the command: a real SIGTERM, the documented exit code, and how to continue.
TEST_F(Interrupt, TheCommandStopsOnASignalAndSaysHowToContinue) {
  dir.write("one.yaml", base("one"));
  const auto out = dir.file("cli-run");
  const auto args = "run " + dir.file("one.yaml") + " --out " + out + " --threads " + std::to_string(torch::get_num_threads());
  ::setenv("CARVE_TEST_SIGNAL_AFTER_STEPS", "11:TERM", 1);
  const auto stopped = testing::run_carve(args + " --force");
  ::unsetenv("CARVE_TEST_SIGNAL_AFTER_STEPS");
  EXPECT_EQ(stopped.exit_code, 143) << stopped.err;
  EXPECT_NE(stopped.err.find("stopped by SIGTERM in epoch 2/2 after step 3/8; checkpoint written"), std::string::npos)
      << stopped.err;
  EXPECT_NE(stopped.err.find("to continue: " + std::string(CARVE_EXE) + " " + args + " --resume\n"), std::string::npos)
      << stopped.err;
  EXPECT_EQ(testing::count_lines(stopped.err), 2u) << stopped.err;
  const auto resumed = testing::run_carve(args + " --resume");
  EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("resuming in epoch 2, after step 3"), std::string::npos) << resumed.out;
  run_straight("one.yaml", "straight");
  expect_same("straight", "cli-run");
}

}  // namespace
}  // namespace carve
