// No finished result is lost to a command: `--resume` continues only the experiment that made a
// directory (every shape resumed into every other is refused, nothing changed), `--force` replaces
// only a carve run and says what it replaces, a run tree works from any directory and after a
// copy, and sweeps and suites grow on --resume like single runs.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "carve/orchestration/status.h"
#include "support/run_command.h"
#include "support/same_results.h"
#include "support/temp_dir.h"
#include "support/toy_plans.h"

namespace carve {
namespace {

namespace fs = std::filesystem;
using testing::run_carve;
using testing::slurp;
constexpr auto q = testing::quoted;

// Every file below `root` (and its .carve sibling) with its bytes.
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& top : {root, fs::path(root.string() + ".carve")}) {
    if (!fs::exists(top)) continue;
    for (const auto& e : fs::recursive_directory_iterator(top)) {
      const auto rel = fs::relative(e.path(), root.parent_path()).string();
      files[rel] = e.is_regular_file() ? slurp(e.path()) : std::string("<dir>");
    }
  }
  return files;
}

class RunTrees : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_toy_amat(dir, "toy.amat", 200);
    dir.write("single.yaml", testing::toy_base(dir, "toy-single", "toy.amat", 1));
    dir.write("sweep.yaml", testing::toy_base(dir, "toy-sweep", "toy.amat", 1) + "sweep:\n  optimizer.lr: [0.01, 0.05]\n");
    dir.write("suite.yaml", testing::toy_base(dir, "toy-suite", "toy.amat", 1) +
                                "suite:\n  seeds: [1]\n  runs:\n    - name: AE\n"
                                "    - name: CAE\n      set: {regularizers.contractive.weight: 0.1}\n");
    dir.write("stack.yaml", testing::toy_base(dir, "toy-stack", "toy.amat", 1) +
                                "stack:\n  - {model.hidden: 6}\n  - {model.hidden: 4}\n");
  }
  std::string run(const std::string& shape, const std::string& out, const std::string& extra = "") {
    return "--threads 1 run " + q(dir.file(shape + ".yaml")) + " --out " + q(out) + " " + extra;
  }
  testing::TempDir dir;
};

// Each of the four shapes, finished, resumed with each other shape's file: exit 2, one line that
// names both experiments, and every byte of the directory as it was.
TEST_F(RunTrees, EveryShapeResumedIntoAnotherIsRefusedAndNothingChanges) {
  const std::vector<std::string> shapes{"single", "sweep", "suite", "stack"};
  const std::map<std::string, std::string> described{{"single", "the single run 'toy-single'"},
                                                     {"sweep", "the sweep 'toy-sweep'"},
                                                     {"suite", "the suite 'toy-suite'"},
                                                     {"stack", "the stack 'toy-stack'"}};
  for (const auto& there : shapes) {
    const auto out = dir.file("runs/" + there);
    const auto made = run_carve(run(there, out));
    ASSERT_EQ(made.exit_code, 0) << there << ": " << made.err;
    const auto before = snapshot(out);
    for (const auto& asked : shapes) {
      if (asked == there) continue;
      const auto r = run_carve(run(asked, out, "--resume"));
      EXPECT_EQ(r.exit_code, 2) << asked << " into " << there << ": " << r.err;
      EXPECT_EQ(testing::count_lines(r.err), 1u) << r.err;
      EXPECT_NE(r.err.find("holds " + described.at(there)), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("not " + described.at(asked)), std::string::npos) << r.err;
      EXPECT_EQ(snapshot(out), before) << asked << " resumed into " << there << " changed its files";
    }
    // The same experiment resumes (read back: nothing to do).
    const auto same = run_carve(run(there, out, "--resume"));
    EXPECT_EQ(same.exit_code, 0) << there << ": " << same.err;
  }
}

// A single run stopped before its first checkpoint starts afresh in place; another experiment of
// the same shape and name but another configuration is refused, not started afresh over it.
TEST_F(RunTrees, AfreshOnlyForTheSameExperiment) {
  const auto out = dir.file("runs/early");
  fs::create_directories(out);
  dir.write("runs/early/config.yaml", slurp(dir.file("single.yaml")));
  dir.write("runs/early/notes.txt", "kept\n");
  const auto other = run_carve(run("single", out, "--resume --set model.hidden=5"));
  EXPECT_EQ(other.exit_code, 2) << other.err;
  EXPECT_NE(other.err.find("model.hidden (6 there, 5 now)"), std::string::npos) << other.err;
  const auto afresh = run_carve(run("single", out, "--resume"));
  EXPECT_EQ(afresh.exit_code, 0) << afresh.err;
  EXPECT_NE(afresh.out.find("stopped before its first checkpoint: starting it afresh"), std::string::npos) << afresh.out;
  EXPECT_TRUE(fs::exists(fs::path(out) / "summary.json"));
  EXPECT_EQ(slurp(dir.file("runs/early/notes.txt")), "kept\n");  // nothing removed on resume
}

// A run records the SHA-256 of the data files it read (data.json); resuming it on other data is
// refused in one line naming the file, and on the same data it continues.
TEST_F(RunTrees, ResumeOnOtherDataIsRefused) {
  const auto out = dir.file("runs/single");
  ASSERT_EQ(run_carve(run("single", out)).exit_code, 0);
  const auto record = nlohmann::json::parse(slurp(fs::path(out) / "data.json"));
  ASSERT_EQ(record["files"].size(), 1u);
  EXPECT_EQ(record["files"][0]["sha256"].get<std::string>().size(), 64u);
  const auto before = snapshot(out);
  const auto data = slurp(dir.file("toy.amat"));
  const char label = data[data.size() - 2];
  dir.write("toy.amat", data.substr(0, data.size() - 2) + (label == '0' ? "1\n" : "0\n"));  // one label changed
  const auto other = run_carve(run("single", out, "--resume --set training.epochs=2"));
  EXPECT_EQ(other.exit_code, 2) << other.err;
  EXPECT_EQ(testing::count_lines(other.err), 1u) << other.err;
  EXPECT_NE(other.err.find("cannot resume: the data differ from those the run read (toy.amat: sha256 "), std::string::npos)
      << other.err;
  EXPECT_EQ(snapshot(out), before);
  dir.write("toy.amat", data);
  const auto same = run_carve(run("single", out, "--resume --set training.epochs=2"));
  EXPECT_EQ(same.exit_code, 0) << same.err;
}

// --force says what it replaces and refuses a directory of files carve did not write; --resume
// refuses it too.
TEST_F(RunTrees, ForceReplacesOnlyACarveRunAndSaysWhat) {
  const auto mine = dir.file("mine");
  fs::create_directories(mine);
  dir.write("mine/thesis.tex", "\\documentclass{article}\n");
  for (const auto* flag : {"--force", "--resume"}) {
    const auto r = run_carve(run("single", mine, flag));
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(testing::count_lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("holds files carve did not write"), std::string::npos) << r.err;
    EXPECT_EQ(slurp(dir.file("mine/thesis.tex")), "\\documentclass{article}\n");
  }
  const auto out = dir.file("runs/sweep");
  ASSERT_EQ(run_carve(run("sweep", out)).exit_code, 0);
  const auto forced = run_carve(run("single", out, "--force"));
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(forced.out.find("replacing the sweep 'toy-sweep' (" + out + "/plan.json) with the single run 'toy-single'"),
            std::string::npos)
      << forced.out;
}

// A sweep's tree answers `carve status` from any directory and after a copy; a plain single run
// answers too. plan.json names no path of the tree but relative ones.
TEST_F(RunTrees, StatusFromAnyDirectoryAndOnACopiedTree) {
  // Made with a relative --out, from the test's directory.
  const auto made = run_carve(run("sweep", "runs/sweep"), dir.path().string());
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const auto out = dir.file("runs/sweep");
  const auto plan = nlohmann::json::parse(slurp(fs::path(out) / "plan.json"));
  EXPECT_EQ(plan["directory"], ".");
  for (const auto& t : plan["tasks"]) EXPECT_EQ(t["directory"].get<std::string>().find(dir.path().string()), std::string::npos);

  fs::copy(out, dir.file("copied"), fs::copy_options::recursive);
  fs::create_directories(dir.file("elsewhere"));
  for (const auto& tree : {std::string("runs/sweep"), std::string("copied")}) {
    // Asked from a directory beside the tree, by a path relative to it.
    const auto from = run_carve("status " + q("../" + tree), dir.file("elsewhere"));
    EXPECT_EQ(from.exit_code, 0) << from.err;
    EXPECT_NE(from.out.find("3 tasks: 3 done, 0 running, 0 pending, 0 failed"), std::string::npos) << tree << ": " << from.out;
  }
  // The copy resumes from elsewhere too (read back, nothing retrained).
  const auto resumed = run_carve(run("sweep", "../copied", "--resume"), dir.file("elsewhere"));
  EXPECT_EQ(resumed.exit_code, 0) << resumed.err;

  const auto single = dir.file("runs/single");
  ASSERT_EQ(run_carve(run("single", single)).exit_code, 0);
  const auto s = run_carve("status " + q(single));
  EXPECT_EQ(s.exit_code, 0) << s.err;
  EXPECT_NE(s.out.find("1 task: 1 done"), std::string::npos) << s.out;
}

// --resume --set training.epochs=N grows every point of a sweep and every run of a suite (its
// choice frozen), and rewrites their tables: they end where runs given N epochs from the start end.
TEST_F(RunTrees, SweepsAndSuitesGrowOnResumeLikeSingleRuns) {
  for (const auto* shape : {"sweep", "suite"}) {
    const auto straight = dir.file(fmt::format("runs/{}-straight", shape));
    const auto grown = dir.file(fmt::format("runs/{}-grown", shape));
    ASSERT_EQ(run_carve(run(shape, straight, "--set training.epochs=2")).exit_code, 0);
    ASSERT_EQ(run_carve(run(shape, grown)).exit_code, 0);
    const auto r = run_carve(run(shape, grown, "--resume --set training.epochs=2"));
    ASSERT_EQ(r.exit_code, 0) << shape << ": " << r.err;
    EXPECT_NE(r.out.find("resuming after epoch 1"), std::string::npos) << r.out;
    testing::expect_same_results(straight, grown);
    // Shrinking is refused, as for a single run.
    const auto shrunk = run_carve(run(shape, grown, "--resume --set training.epochs=1"));
    EXPECT_EQ(shrunk.exit_code, 2) << shrunk.err;
    EXPECT_NE(shrunk.err.find("training.epochs (2 there, 1 now)"), std::string::npos) << shrunk.err;
  }
}

// A suite's choice is frozen when it grows: chosen.json keeps its bytes, every point and seed
// continues to the new count, and the first seed (a copy of the winner) ends where the winner does.
TEST(RunTreeGrowth, ASuitesChoiceIsFrozenAndItsCopyGrowsWithTheWinner) {
  testing::TempDir dir;
  const auto file = testing::toy_suite(dir);
  const auto out = dir.file("suite");
  ASSERT_EQ(run_carve("--threads 1 run " + q(file) + " --out " + q(out)).exit_code, 0);
  const auto chosen = slurp(fs::path(out) / "CAE" / "sweep" / "chosen.json");
  const auto grown = run_carve("--threads 1 run " + q(file) + " --out " + q(out) + " --resume --set training.epochs=3");
  ASSERT_EQ(grown.exit_code, 0) << grown.err;
  EXPECT_EQ(slurp(fs::path(out) / "CAE" / "sweep" / "chosen.json"), chosen);
  for (const auto* run : {"AE/seed-1", "AE/seed-2", "CAE/seed-1", "CAE/seed-2", "CAE/sweep/optimizer.lr=0.02",
                          "CAE/sweep/optimizer.lr=0.1"}) {
    const auto summary = nlohmann::json::parse(slurp(fs::path(out) / run / "summary.json"));
    EXPECT_EQ(summary["epochs_run"], 3) << run;
  }
  const auto winner = nlohmann::json::parse(chosen)["point"][0].get<std::string>();
  const auto point = fs::path(out) / "CAE" / "sweep" / winner;
  for (const auto* name : {"metrics.csv", "finetune.csv"}) {
    testing::expect_same_csv((point / name).string(), (fs::path(out) / "CAE/seed-1" / name).string(), name);
  }
}

// Ctrl-C at a terminal under --jobs 2 (SIGINT to the whole foreground process group): the parent
// alone receives it and passes it on once; each running task is reported as stopped, never as
// failed, carve exits 130 with the command that continues, and --resume finishes the sweep.
TEST(RunTreeSignals, CtrlCUnderJobsStopsTasksAndSaysSo) {
  testing::TempDir dir;
  const auto file = testing::toy_slow_sweep(dir);
  const auto out = dir.file("run");
  const auto log = dir.file("carve.log");
  // A process group of its own (setsid), signalled as a terminal does once both tasks train.
  const std::string script =
      "setsid " + q(CARVE_EXE) + " --threads 2 run " + q(file) + " --out " + q(out) + " --jobs 2 > " + q(log) +
      " 2>&1 & pid=$!; for i in $(seq 600); do n=$(cat " + q(out) + "/tasks/*.log 2>/dev/null | grep -c 'epoch 1/40'); "
      "[ \"$n\" -ge 2 ] && break; sleep 0.05; done; kill -INT -- -$pid; wait $pid; echo \"exit $?\" >> " + q(log);
  dir.write("ctrl-c.sh", script + "\n");
  ASSERT_EQ(std::system(("bash " + q(dir.file("ctrl-c.sh"))).c_str()), 0);
  const auto text = slurp(log);
  EXPECT_NE(text.find("exit 130"), std::string::npos) << text;
  EXPECT_EQ(text.find("failed"), std::string::npos) << text;
  EXPECT_NE(text.find("stopped by SIGINT"), std::string::npos) << text;
  EXPECT_NE(text.find("to continue: "), std::string::npos) << text;
  const auto status = run_carve("status " + q(out));
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_NE(status.out.find("0 failed"), std::string::npos) << status.out;
  const auto resumed = run_carve("--threads 2 run " + q(file) + " --out " + q(out) + " --jobs 2 --resume");
  EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_TRUE(fs::exists(fs::path(out) / "sweep.md"));
}

}  // namespace
}  // namespace carve
