// What a user brings: a separate IDX test pair, data paths relative to the experiment file, and
// real-valued inputs standardized for a Gaussian-visible RBM (statistics from the training split,
// recorded; a warning when they are not standardized).
#include <gtest/gtest.h>

#include <filesystem>

#include "carve/data/amat.h"
#include "carve/data/catalog.h"
#include "carve/data/idx.h"
#include "carve/error.h"
#include "carve/train/run_dir.h"
#include "carve/train/trainer.h"
#include "support/csv.h"
#include "support/messages.h"
#include "support/run_command.h"
#include "support/temp_dir.h"

namespace carve {
namespace {

namespace fs = std::filesystem;

using testing::Messages;

TEST(DataOptions, IdxTakesASeparateTestPair) {
  testing::TempDir dir;
  torch::manual_seed(0);
  write_idx(dir.file("train-images"), torch::randint(0, 256, {30, 4, 4}, torch::kInt64).to(torch::kUInt8));
  write_idx(dir.file("train-labels"), torch::randint(0, 3, {30}, torch::kInt64).to(torch::kUInt8));
  write_idx(dir.file("test-images"), torch::randint(0, 256, {12, 4, 4}, torch::kInt64).to(torch::kUInt8));
  write_idx(dir.file("test-labels"), torch::randint(0, 3, {12}, torch::kInt64).to(torch::kUInt8));
  const auto spec = "idx:" + dir.file("train-images") + "," + dir.file("train-labels") + "," + dir.file("test-images") +
                    "," + dir.file("test-labels");
  const auto source = load_dataset(spec);
  EXPECT_EQ(source.train.size(), 30);
  EXPECT_EQ(source.test.size(), 12);
  // Through an experiment: the test split is the pair's, the validation split comes from training.
  const auto s = parse_experiment("name: t\ndata: {dataset: '" + spec + "', valid: 5}\n", "t.yaml");
  const auto splits = load_run_splits(s);
  EXPECT_EQ(splits.train.size(), 25);
  EXPECT_EQ(splits.valid.size(), 5);
  EXPECT_EQ(splits.test.size(), 12);
  EXPECT_THROW(load_dataset(spec + ",extra"), DataError);
}

TEST(DataOptions, RelativePathsAreFoundBesideTheExperimentFile) {
  testing::TempDir dir;
  fs::create_directories(dir.path() / "exp" / "data");
  torch::manual_seed(0);
  write_amat(dir.file("exp/data/toy.amat"), {torch::rand({20, 1, 2, 2}), torch::randint(0, 2, {20}, torch::kInt64)});
  dir.write("exp/toy.yaml", "name: t\ndata: {dataset: 'amat:data/toy.amat'}\n");
  const auto s = load_experiment(dir.file("exp/toy.yaml"));
  EXPECT_EQ(s.data.dataset, "amat:" + dir.file("exp/data/toy.amat"));
  EXPECT_EQ(load_run_splits(s).train.size(), 20);
  // A missing one names the path it tried, at the key's location.
  dir.write("exp/bad.yaml", "name: t\ndata: {dataset: 'amat:data/nope.amat'}\n");
  try {
    load_experiment(dir.file("exp/bad.yaml"));
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), dir.file("exp/bad.yaml") + ":2:17: data.dataset: no such file or directory: "
                                         "data/nope.amat (tried " + dir.file("exp/data/nope.amat") +
                                         " beside the experiment file, and data/nope.amat in the working directory)");
  }
}

TEST(DataOptions, StandardizedDataForAGaussianRbmAndAWarningWithout) {
  testing::TempDir dir;
  torch::manual_seed(0);
  // Real values far from [0, 1]: an .amat file of a user's own measurements.
  const auto x = torch::randn({120, 1, 3, 3}) * 4 + 10;
  write_amat(dir.file("real.amat"), {x, torch::randint(0, 2, {120}, torch::kInt64)});
  const std::string yaml = "name: g\nseed: 1\ndevice: cpu\ndata: {dataset: 'amat:" + dir.file("real.amat") +
                           "', valid: 20, test: 20}\nmodel: {type: rbm, visible_units: gaussian, hidden: 5}\n"
                           "optimizer: {lr: 0.001}\ntraining: {epochs: 2, batch_size: 20}\n";
  {
    auto messages = std::make_shared<Messages>();
    RunOptions o;
    o.out = dir.file("raw");
    o.observers.push_back(messages);
    run_experiment(parse_experiment(yaml, dir.file("g.yaml")), o);
    EXPECT_TRUE(messages->any("warning: ")) << "no warning for a Gaussian RBM on raw data";
    EXPECT_TRUE(messages->any("set data.standardize: true"));
    EXPECT_FALSE(fs::exists(dir.path() / "raw" / "standardization.csv"));
  }
  auto messages = std::make_shared<Messages>();
  RunOptions o;
  o.out = dir.file("standardized");
  o.observers.push_back(messages);
  const auto s = parse_experiment(yaml, dir.file("g.yaml"), {"data.standardize=true"});
  const auto r = run_experiment(s, o);
  EXPECT_FALSE(messages->any("warning: "));
  EXPECT_TRUE(std::isfinite(r.summary["final"]["reconstruction"].get<double>()));
  // The training split's statistics, recorded per input; every split uses them.
  const auto splits = load_run_splits(s);
  const auto train = splits.train.flat().to(torch::kFloat64);
  EXPECT_LT(train.mean(0).abs().max().item<double>(), 1e-5);
  EXPECT_LT((train.std(0, false) - 1).abs().max().item<double>(), 1e-5);
  const auto csv = testing::parse_csv_strict(testing::slurp(dir.file("standardized/standardization.csv")));
  ASSERT_EQ(csv.rows.size(), 9u);
  const auto raw_train = load_run_splits(parse_experiment(yaml, dir.file("g.yaml"))).train.flat().to(torch::kFloat64);
  for (size_t i = 0; i < 9; ++i) {
    EXPECT_NEAR(std::stod(csv.at(i, "mean")), raw_train.select(1, static_cast<int64_t>(i)).mean().item<double>(), 1e-9);
    EXPECT_NEAR(std::stod(csv.at(i, "std")), raw_train.select(1, static_cast<int64_t>(i)).std(false).item<double>(), 1e-9);
  }
  const auto test_raw = load_run_splits(parse_experiment(yaml, dir.file("g.yaml"))).test.flat().to(torch::kFloat64);
  const auto expected = (test_raw - splits.mean) / splits.std;
  EXPECT_LT((splits.test.flat().to(torch::kFloat64) - expected).abs().max().item<double>(), 1e-5);
}

}  // namespace
}  // namespace carve
