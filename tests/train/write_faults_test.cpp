// Every write carve makes can fail: a full disk, a file size limit (RLIMIT_FSIZE), a device that
// refuses (/dev/full), a directory removed under the run, a size-limited tmpfs. Each failure ends
// the command with one line naming the file and the cause and exit 1 — no abort, no backtrace —
// and leaves no temporary file, no summary.json claiming a result and the previous checkpoint
// intact: --resume then finishes the run exactly as an uninterrupted run ends.
//
// None of these faults needs privileges (CI runs as root, where permissions prove nothing) but
// the tmpfs, which is used where it can be mounted. The k-th write of a file is failed by the
// `carve` binary's test hook (CARVE_TEST_WRITE_FAULT, tools/carve/main.cpp). Each test that
// injected its fault and saw it handled leaves a marker in $CARVE_FAULT_MARKERS, and the ctest
// fixture's cleanup (WriteFaultsRan.Count) fails the suite when fewer ran than are declared here.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "carve/train/run_directory.h"
#include "support/run_command.h"
#include "support/same_results.h"
#include "support/temp_dir.h"
#include "support/toy_plans.h"

namespace carve {
namespace {

namespace fs = std::filesystem;
using testing::run_carve;
using testing::slurp;
const auto q = testing::quoted;

// A single run that writes every file a run writes (fine-tuning, analysis and its pictures).
std::string single_file(const testing::TempDir& dir) {
  testing::write_toy_amat(dir, "toy.amat", 200);
  dir.write("single.yaml", testing::toy_base(dir, "toy-single") +
                               "finetune: {epochs: 2, batch_size: 20}\nanalysis: {points: 10, radii: [0.5, 1]}\n");
  return dir.file("single.yaml");
}

// A suite that writes every file of a plan: plan.json, a sweep's table and choice, the copy of the
// chosen point, the suite's tables.
std::string group_file(const testing::TempDir& dir) {
  testing::write_toy_amat(dir, "toy.amat", 200);
  dir.write("group.yaml", testing::toy_base(dir, "toy-group") +
                              "suite:\n  seeds: [1]\n  runs:\n    - name: AE\n    - name: CAE\n"
                              "      set: {regularizers.contractive.weight: 0.1}\n"
                              "      sweep: {optimizer.lr: [0.02, 0.1]}\n");
  return dir.file("group.yaml");
}

void record_ran(const std::string& what) {
  const char* markers = std::getenv("CARVE_FAULT_MARKERS");
  if (markers == nullptr) return;
  fs::create_directories(markers);
  std::ofstream(fs::path(markers) / what) << what << "\n";
}

std::string test_name() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "." + info->name();
  for (auto& c : name) c = c == '/' ? '+' : c;
  return name;
}

// `carve ARGS` with `env` (NAME=VALUE ...) in its environment.
testing::CommandResult run_with(const std::string& env, const std::string& args) {
  std::vector<std::string> names;
  for (size_t at = 0; at < env.size();) {
    const auto end = std::min(env.find(' ', at), env.size());
    const auto pair = env.substr(at, end - at);
    const auto eq = pair.find('=');
    ::setenv(pair.substr(0, eq).c_str(), pair.substr(eq + 1).c_str(), 1);
    names.push_back(pair.substr(0, eq));
    at = end + 1;
  }
  auto r = run_carve(args);
  for (const auto& n : names) ::unsetenv(n.c_str());
  return r;
}

// `command` (a carve command line whose standard output goes where it says) with its standard
// error captured.
testing::CommandResult shell_with_stderr(const std::string& command, const testing::TempDir& dir) {
  const int status = std::system((command + " 2> " + q(dir.file("stderr")) + " < /dev/null").c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, "", slurp(dir.file("stderr"))};
}

std::string last_line(const std::string& text) {
  auto t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  const auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

// What every failed write must leave: one line on the error, exit 1, nothing half-written.
void expect_clean_failure(const testing::CommandResult& r, const std::string& file, const std::string& cause,
                          const fs::path& tree) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const auto line = last_line(r.err);
  EXPECT_EQ(line.rfind("carve: ", 0), 0u) << line;
  if (!file.empty()) EXPECT_NE(line.find("/" + file + ": "), std::string::npos) << "names the file: " << line;
  EXPECT_NE(line.find(cause), std::string::npos) << line;
  for (const char* bad : {"terminate called", "Exception raised from", "Traceback", "Aborted", "filesystem error"}) {
    EXPECT_EQ(r.err.find(bad), std::string::npos) << r.err;
  }
  if (!fs::exists(tree)) return;
  for (const auto& e : fs::recursive_directory_iterator(tree)) {
    const auto name = e.path().filename().string();
    EXPECT_FALSE(name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) << "left behind: " << e.path();
    EXPECT_FALSE(name.find(".partial") != std::string::npos || name.find(".tmp.") != std::string::npos)
        << "left behind: " << e.path();
    // A summary claims a finished run: everything the run writes must be there beside it.
    if (name == "summary.json") {
      const auto dir = e.path().parent_path();
      EXPECT_TRUE(fs::exists(dir / "encoder.pt")) << e.path();
      if (fs::exists(dir / "finetune.csv")) EXPECT_TRUE(fs::exists(dir / "classifier.pt")) << e.path();
      if (fs::exists(dir / "analysis")) EXPECT_TRUE(fs::exists(dir / "report.md")) << e.path();
    }
  }
}

struct Fault {
  const char* name;  // the test's name
  bool group;        // the suite, else the single run
  const char* fault;  // CARVE_TEST_WRITE_FAULT: FILE[@K][:rmdir]
};

// One fault for each kind of file carve writes (EveryKindOfFileHasAFaultTest checks the list).
const Fault kFaults[] = {
    {"data_json", false, "data.json"},
    {"config_yaml", false, "config.yaml"},
    {"splits_csv", false, "splits.csv"},
    {"test_predictions_csv", false, "test_predictions.csv"},
    {"log_txt", false, "log.txt"},
    {"metrics_csv", false, "metrics.csv@2"},
    {"first_checkpoint", false, "checkpoint.pt"},
    {"checkpoint_replacing_one", false, "checkpoint.pt@2"},
    {"encoder_pt", false, "encoder.pt"},
    {"finetune_csv", false, "finetune.csv"},
    {"finetune_pt_replacing_one", false, "finetune.pt@2"},
    {"classifier_pt", false, "classifier.pt"},
    {"summary_json", false, "summary.json"},
    {"contraction_csv", false, "contraction.csv"},
    {"spectrum_csv", false, "spectrum.csv"},
    {"saturation_csv", false, "saturation.csv"},
    {"filters_png", false, "filters.png"},
    {"reconstructions_png", false, "reconstructions.png"},
    {"figures_json", false, "figures.json"},
    {"plotted_png", false, "training-loss.png"},
    {"analysis_json", false, "analysis.json"},
    {"report_md", false, "report.md"},
    {"plan_json", true, "plan.json"},
    {"sweep_csv", true, "sweep.csv"},
    {"sweep_md", true, "sweep.md"},
    {"chosen_json", true, "chosen.json"},
    {"copy_of_the_chosen_point", true, "summary.json@4"},
    {"table_csv", true, "table.csv"},
    {"table_md", true, "table.md"},
    {"point_directory_removed", true, "checkpoint.pt@3:rmdir"},
};

class WriteFaults : public ::testing::TestWithParam<Fault> {};

TEST_P(WriteFaults, FailInOneLineAndResumeToTheSameResults) {
  const auto& f = GetParam();
  testing::TempDir dir;
  const auto file = f.group ? group_file(dir) : single_file(dir);
  const auto straight = run_carve("--threads 1 run " + q(file) + " --out " + q(dir.file("straight")));
  ASSERT_EQ(straight.exit_code, 0) << straight.err;

  const std::string fault = f.fault;
  const auto target = fault.substr(0, fault.find_first_of("@:"));
  const bool rmdir = fault.find(":rmdir") != std::string::npos;
  const auto failed = run_with("CARVE_TEST_WRITE_FAULT=" + fault, "--threads 1 run " + q(file) + " --out " + q(dir.file("run")));
  expect_clean_failure(failed, rmdir ? "checkpoint.pt" : target,
                       rmdir ? "No such file or directory" : "write failed: No space left on device", dir.path() / "run");
  if (!f.group) EXPECT_FALSE(fs::exists(dir.file("run/summary.json")));
  if (f.group) EXPECT_FALSE(fs::exists(dir.file("run/table.md")));

  const auto resumed = run_carve("--threads 1 run " + q(file) + " --out " + q(dir.file("run")) + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  testing::expect_same_results(dir.path() / "straight", dir.path() / "run");
  testing::expect_same_results(dir.path() / "run", dir.path() / "straight");
  if (!::testing::Test::HasFailure()) record_ran(test_name());
}

INSTANTIATE_TEST_SUITE_P(EveryKind, WriteFaults, ::testing::ValuesIn(kFaults),
                         [](const ::testing::TestParamInfo<Fault>& info) { return std::string(info.param.name); });

// The list above covers every file the two runs write: a new kind of output needs its fault test.
TEST(WriteFaultsCover, EveryKindOfFileHasAFaultTest) {
  testing::TempDir dir;
  std::set<std::string> covered{
      // Written by the one plotter call that training-loss.png's test fails.
      "contraction.png", "spectrum.png", "activations.png", "training-jacobian.png", "training-saturation.png",
      // Copied with the chosen point (its copy's test), never written by training there.
      "checkpoint.previous.pt", "analysis"};
  for (const auto& f : kFaults) covered.insert(std::string(f.fault).substr(0, std::string(f.fault).find_first_of("@:")));
  for (const auto& file : {single_file(dir), group_file(dir)}) {
    const auto out = dir.file(fs::path(file).stem().string());
    const auto r = run_with("CARVE_TEST_WRITES=" + dir.file("writes.txt"), "--threads 1 run " + q(file) + " --out " + q(out));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::ifstream in(dir.file("writes.txt"));
  std::set<std::string> written;
  for (std::string line; std::getline(in, line);) written.insert(fs::path(line).filename().string());
  EXPECT_GT(written.size(), 25u);
  for (const auto& name : written) EXPECT_TRUE(covered.count(name)) << name << " is written but no fault test fails it";
}

// A file size limit (ulimit -f) as a user or a batch system sets it: the checkpoint that replaces
// the last one is too large. carve ignores SIGXFSZ, so the write fails with EFBIG and says so; the
// checkpoint before it is untouched, byte for byte.
TEST(WriteFaultsReal, FileSizeLimitFailsTheCheckpointAndKeepsTheOneBefore) {
  testing::TempDir dir;
  const auto file = single_file(dir);
  const auto run = dir.file("run");
  ASSERT_EQ(run_carve("--threads 1 run " + q(file) + " --out " + q(dir.file("straight"))).exit_code, 0);
  // 6 steps an epoch: stop mid-epoch 2, with the epoch-1 checkpoint kept as the previous one.
  const auto stopped = run_with("CARVE_TEST_SIGNAL_AFTER_STEPS=10", "--threads 1 run " + q(file) + " --out " + q(run));
  ASSERT_EQ(stopped.exit_code, 130) << stopped.err;
  const auto before = slurp(dir.file("run/checkpoint.pt"));
  ASSERT_GT(before.size(), 16384u);
  // prlimit applies the limit to carve alone: the test's own files stay unlimited.
  const auto r = shell_with_stderr("prlimit --fsize=16384 " + q(CARVE_EXE) + " --threads 1 run " + q(file) + " --out " +
                                       q(run) + " --resume > /dev/null",
                                   dir);
  expect_clean_failure(r, "checkpoint.pt", "write failed: File too large", run);
  EXPECT_EQ(slurp(dir.file("run/checkpoint.pt")), before);
  EXPECT_FALSE(fs::exists(dir.file("run/summary.json")));
  const auto resumed = run_carve("--threads 1 run " + q(file) + " --out " + q(run) + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  testing::expect_same_results(dir.path() / "straight", run);
  if (!::testing::Test::HasFailure()) record_ran(test_name());
}

// /dev/full refuses every write with ENOSPC: as the file `carve export` writes (which must be
// written into, not renamed over: as root that would replace the device), as standard output,
// and as the log a run appends to.
TEST(WriteFaultsReal, DevFullAsExportStandardOutputAndLog) {
  ASSERT_TRUE(fs::is_character_file("/dev/full"));
  testing::TempDir dir;
  testing::write_toy_amat(dir, "toy.amat", 200);
  dir.write("plain.yaml", testing::toy_base(dir, "toy-plain"));
  const auto file = dir.file("plain.yaml"), run = dir.file("run");
  ASSERT_EQ(run_carve("--threads 1 run " + q(file) + " --out " + q(run)).exit_code, 0);

  const auto exported = run_carve("export " + q(run) + " --out /dev/full");
  EXPECT_EQ(exported.exit_code, 1);
  EXPECT_EQ(exported.err, "carve: /dev/full: write failed: No space left on device\n");
  EXPECT_TRUE(fs::is_character_file("/dev/full"));
  EXPECT_FALSE(fs::exists("/dev/full.tmp"));

  const auto printed = shell_with_stderr(q(CARVE_EXE) + " plan " + q(file) + " --out " + q(run) + " > /dev/full", dir);
  EXPECT_EQ(printed.exit_code, 1);
  EXPECT_EQ(printed.err, "carve: standard output: write failed: No space left on device\n");

  ASSERT_EQ(run_carve("--threads 1 run " + q(file) + " --out " + q(dir.file("log")) + " --set training.epochs=1").exit_code, 0);
  fs::remove(dir.file("log/log.txt"));
  fs::create_symlink("/dev/full", dir.file("log/log.txt"));
  const auto appended = run_carve("--threads 1 run " + q(file) + " --out " + q(dir.file("log")) + " --resume");
  expect_clean_failure(appended, "log.txt", "write failed: No space left on device", dir.path() / "log");
  if (!::testing::Test::HasFailure()) record_ran(test_name());
}

// A real full disk: a 160 KiB tmpfs fills up in the middle of a run. Then, with room made
// (remounted larger), --resume finishes it exactly as an uninterrupted run ends. Needs a
// mountable tmpfs (root with CAP_SYS_ADMIN); elsewhere it says so and is not counted.
TEST(WriteFaultsReal, FullTmpfsInTheMiddleOfARun) {
  testing::TempDir dir;
  const auto file = single_file(dir);
  const auto mnt = dir.path() / "small";
  fs::create_directories(mnt);
  if (::mount("carve-test", mnt.c_str(), "tmpfs", 0, "size=160k") != 0) {
    record_ran(test_name() + ".unavailable");
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno) << "); counted as unavailable";
  }
  struct Unmount {
    fs::path at;
    ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
  } unmount{mnt};
  ASSERT_EQ(run_carve("--threads 1 run " + q(file) + " --out " + q(dir.file("straight"))).exit_code, 0);
  const auto run = (mnt / "run").string();
  const auto full = run_carve("--threads 1 run " + q(file) + " --out " + q(run));
  expect_clean_failure(full, "", "No space left on device", run);
  EXPECT_FALSE(fs::exists(mnt / "run" / "summary.json"));
  ASSERT_EQ(::mount("carve-test", mnt.c_str(), "tmpfs", MS_REMOUNT, "size=16m"), 0) << std::strerror(errno);
  const auto resumed = run_carve("--threads 1 run " + q(file) + " --out " + q(run) + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  testing::expect_same_results(dir.path() / "straight", run);
  if (!::testing::Test::HasFailure()) record_ran(test_name());
}

// Point 2 of the reliability issue: the checkpoint a new one replaces is kept
// (checkpoint.previous.pt, finetune.previous.pt). A damaged latest one — a disk fault, a copy cut
// short — is named in one line and the run resumes from the one before it, to the same result.
void flip_a_byte(const std::string& path) {
  auto bytes = slurp(path);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(DamagedCheckpoint, ResumesFromTheOneBeforeItInPretrainingAndFineTuning) {
  testing::TempDir dir;
  const auto file = single_file(dir);
  ASSERT_EQ(run_carve("--threads 1 run " + q(file) + " --out " + q(dir.file("straight"))).exit_code, 0);
  // 6 steps an epoch in pretraining and in fine-tuning. Stopped in pretraining's second epoch,
  // its latest checkpoint damaged: the resume goes back to the end of epoch 1 and runs on into
  // fine-tuning's second epoch (6 + 6 + 2 steps), where it is stopped and finetune.pt damaged.
  const auto message = [&](const std::string& name) {
    return dir.file("run/") + name + ".pt: damaged (checksum mismatch): resuming from the checkpoint before it, " +
           dir.file("run/") + name + ".previous.pt";
  };
  const auto run = " run " + q(file) + " --out " + q(dir.file("run"));
  ASSERT_EQ(run_with("CARVE_TEST_SIGNAL_AFTER_STEPS=10", "--threads 1" + run).exit_code, 130);
  ASSERT_TRUE(fs::exists(dir.file("run/checkpoint.previous.pt")));
  flip_a_byte(dir.file("run/checkpoint.pt"));
  const auto pretraining = run_with("CARVE_TEST_SIGNAL_AFTER_STEPS=14", "--threads 1" + run + " --resume");
  ASSERT_EQ(pretraining.exit_code, 130) << pretraining.err;
  EXPECT_NE(pretraining.out.find(message("checkpoint")), std::string::npos) << pretraining.out;
  ASSERT_TRUE(fs::exists(dir.file("run/finetune.previous.pt")));
  flip_a_byte(dir.file("run/finetune.pt"));
  const auto finetuning = run_carve("--threads 1" + run + " --resume");
  ASSERT_EQ(finetuning.exit_code, 0) << finetuning.err;
  EXPECT_NE(finetuning.out.find(message("finetune")), std::string::npos) << finetuning.out;
  testing::expect_same_results(dir.path() / "straight", dir.path() / "run");
}

TEST(DamagedCheckpoint, BothDamagedIsRefusedInOneLineNamingEach) {
  testing::TempDir dir;
  const auto file = single_file(dir);
  const auto run = dir.file("run");
  ASSERT_EQ(run_with("CARVE_TEST_SIGNAL_AFTER_STEPS=10", "--threads 1 run " + q(file) + " --out " + q(run)).exit_code, 130);
  const auto payload = fs::file_size(dir.file("run/checkpoint.pt")) - 28;  // less the header
  fs::resize_file(dir.file("run/checkpoint.pt"), 100);
  flip_a_byte(dir.file("run/checkpoint.previous.pt"));
  const auto r = run_carve("--threads 1 run " + q(file) + " --out " + q(run) + " --resume");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(last_line(r.err), "carve: " + run + "/checkpoint.pt: cannot resume from this checkpoint: truncated (72 of " + std::to_string(payload) + " bytes); nor from the one before it, " + run +
                                  "/checkpoint.previous.pt: damaged (checksum mismatch)")
      << r.err;
  // Without a previous one (carve 0.1's runs, a copied directory) the refusal says so.
  fs::remove(dir.file("run/checkpoint.previous.pt"));
  const auto alone = run_carve("--threads 1 run " + q(file) + " --out " + q(run) + " --resume");
  EXPECT_EQ(alone.exit_code, 2);
  EXPECT_NE(last_line(alone.err).find("truncated (72 of "), std::string::npos) << alone.err;
  EXPECT_NE(last_line(alone.err).find("(and no earlier one was kept)"), std::string::npos) << alone.err;
}

// The ctest fixture's cleanup: every fault test above ran, none skipped (but an unmountable tmpfs).
TEST(WriteFaultsRan, Count) {
  const char* markers = std::getenv("CARVE_FAULT_MARKERS");
  if (markers == nullptr) GTEST_SKIP() << "run by ctest, after the fault tests (CARVE_FAULT_MARKERS)";
  std::set<std::string> declared, ran, unavailable;
  const auto* unit = ::testing::UnitTest::GetInstance();
  for (int i = 0; i < unit->total_test_suite_count(); ++i) {
    const auto* suite = unit->GetTestSuite(i);
    const std::string name = suite->name();
    if (name != "EveryKind/WriteFaults" && name != "WriteFaultsReal") continue;
    for (int j = 0; j < suite->total_test_count(); ++j) {
      auto full = name + "." + suite->GetTestInfo(j)->name();
      for (auto& c : full) c = c == '/' ? '+' : c;
      declared.insert(full);
    }
  }
  if (fs::exists(markers)) {
    for (const auto& e : fs::directory_iterator(markers)) {
      const auto n = e.path().filename().string();
      if (n.size() > 12 && n.compare(n.size() - 12, 12, ".unavailable") == 0) {
        unavailable.insert(n.substr(0, n.size() - 12));
      } else {
        ran.insert(n);
      }
    }
  }
  std::string missing;
  for (const auto& d : declared) {
    if (!ran.count(d) && !unavailable.count(d)) missing += " " + d;
  }
  EXPECT_GE(declared.size(), 30u);
  EXPECT_TRUE(missing.empty()) << "fault tests that did not run to the end:" << missing
                               << " (run them all: ctest -R WriteFaults)";
  for (const auto& u : unavailable) {
    EXPECT_EQ(u, "WriteFaultsReal.FullTmpfsInTheMiddleOfARun") << "only the tmpfs may be unavailable";
  }
  std::cout << ran.size() << " of " << declared.size() << " fault tests ran"
            << (unavailable.empty() ? "" : "; unavailable here: the tmpfs") << "\n";
}

}  // namespace
}  // namespace carve
