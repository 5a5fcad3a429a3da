// `carve submit` on a real one-node SLURM cluster (tools/slurm/cluster.sh, started by ctest as
// the fixture of these tests; CARVE_SLURM_CONF names its slurm.conf). Skipped without one.
// (a) a sweep submitted and collected writes the table a local run writes, byte for byte;
// (b) a suite whose runs choose by sweeps (late-bound seeds) completes, equal to a local run;
// (c) a task signalled mid-run with USR1 checkpoints, requeues itself, resumes and ends
//     bit-identical to an uninterrupted run;
// (d) a task that fails shows failed in `carve status`, and its dependents are cancelled.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <regex>
#include <thread>

#include "carve/orchestration/plan.h"
#include "carve/orchestration/status.h"
#include "carve/process.h"
#include "support/csv.h"
#include "support/run_command.h"
#include "support/temp_dir.h"
#include "support/toy_plans.h"

namespace carve {
namespace {

namespace fs = std::filesystem;
using testing::run_carve;
using testing::slurp;
constexpr auto q = testing::quoted;

// A shell command's exit code and output (stdout and stderr).
std::pair<int, std::string> shell(const std::string& command) {
  const auto r = run_shell(command + " 2>&1");
  return {r.exit_code(), r.out};
}

bool wait_for(const std::function<bool()>& condition, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return condition();
}

class SlurmCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* conf = std::getenv("CARVE_SLURM_CONF");
    if (conf == nullptr) GTEST_SKIP() << "no cluster: ctest starts one (tools/slurm/cluster.sh) for SlurmCluster.*";
    if (!fs::exists(std::string(conf) + ".ready")) GTEST_SKIP() << "no cluster could be started here (see SlurmCluster.Start)";
    ::setenv("SLURM_CONF", conf, 1);
  }

  // Submits `file` into `out`; returns the job ids, one per level.
  std::vector<std::string> submit(const std::string& file, const std::string& out) {
    const auto r = run_carve("submit " + q(file) + " --slurm --out " + q(out));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> ids;
    const std::regex job("submitted job ([0-9]+): level");
    for (std::sregex_iterator m(r.out.begin(), r.out.end(), job), end; m != end; ++m) ids.push_back((*m)[1]);
    return ids;
  }

  bool all_done(const std::string& out) {
    for (const auto& s : plan_status(read_plan(out)))
      if (s.state != TaskState::done) return false;
    return true;
  }

  std::string local(const std::string& file, const std::string& out) {
    const auto r = run_carve("--threads 1 run " + q(file) + " --out " + q(out));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return out;
  }

  std::string job_state(const std::string& id) {
    const auto [rc, out] = shell("scontrol show job " + id);
    std::smatch m;
    return std::regex_search(out, m, std::regex("JobState=([A-Z_]+)")) ? m[1].str() : out;
  }

  testing::TempDir dir;
};

TEST_F(SlurmCluster, SweepEqualsLocalRun) {
  const auto file = testing::toy_sweep(dir);
  const auto jobs = submit(file, dir.file("cluster"));
  ASSERT_EQ(jobs.size(), 2u);
  ASSERT_TRUE(wait_for([&] { return all_done(dir.file("cluster")); }, 120))
      << run_carve("status " + q(dir.file("cluster"))).out;
  local(file, dir.file("local"));
  EXPECT_EQ(slurp(dir.file("cluster/sweep.csv")), slurp(dir.file("local/sweep.csv")));
  EXPECT_EQ(slurp(dir.file("cluster/sweep.md")), slurp(dir.file("local/sweep.md")));
  EXPECT_TRUE(fs::exists(dir.file("cluster/slurm/logs/level-1-" + jobs[1] + "_0.out")));
  const auto status = run_carve("status " + q(dir.file("cluster")));
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_NE(status.out.find("4 tasks: 4 done"), std::string::npos) << status.out;
}

TEST_F(SlurmCluster, SuiteWithSweepsCompletes) {
  const auto file = testing::toy_suite(dir);
  const auto jobs = submit(file, dir.file("cluster"));
  ASSERT_EQ(jobs.size(), 4u);
  ASSERT_TRUE(wait_for([&] { return all_done(dir.file("cluster")); }, 180))
      << run_carve("status " + q(dir.file("cluster"))).out;
  local(file, dir.file("local"));
  EXPECT_EQ(slurp(dir.file("cluster/table.csv")), slurp(dir.file("local/table.csv")));
  EXPECT_EQ(slurp(dir.file("cluster/CAE/sweep/chosen.json")), slurp(dir.file("local/CAE/sweep/chosen.json")));
}

TEST_F(SlurmCluster, PreemptedTaskRequeuesAndResumes) {
  const auto file = testing::toy_slow_sweep(dir);
  const auto out = dir.file("cluster");
  const auto jobs = submit(file, out);
  ASSERT_EQ(jobs.size(), 2u);
  // Signal the second point once it has two epochs (and so a checkpoint) behind it.
  const auto metrics = dir.file("cluster/optimizer.lr=0.05/metrics.csv");
  ASSERT_TRUE(wait_for([&] { return testing::count_lines(slurp(metrics)) >= 3; }, 60)) << slurp(metrics);
  const auto task = jobs[0] + "_1";
  ASSERT_EQ(shell("scancel --batch --signal=USR1 " + task).first, 0);
  const auto plan = read_plan(out);
  const auto requeued = task_file(plan, plan.task("point/optimizer.lr=0.05"), ".requeued");
  const auto log_file = dir.file("cluster/slurm/logs/level-0-" + task + ".out");
  ASSERT_TRUE(wait_for([&] { return fs::exists(requeued); }, 30))
      << run_carve("status " + q(out)).out << "log:\n" << slurp(log_file);
  EXPECT_EQ(plan_status(plan)[1].detail, "requeued after preemption, resumes from its checkpoint");
  // SLURM holds a requeued job back two minutes; the test does not wait for that.
  ASSERT_TRUE(wait_for([&] { return job_state(task) == "PENDING"; }, 30)) << job_state(task);
  ASSERT_EQ(shell("scontrol update JobId=" + task + " StartTime=now").first, 0);
  ASSERT_TRUE(wait_for([&] { return all_done(out); }, 120)) << run_carve("status " + q(out)).out;

  const auto log = slurp(log_file);
  // The signal lands within an epoch or between two (epochs of this toy take milliseconds with
  // the fused step); either way a checkpoint is written and the run resumes from it.
  EXPECT_TRUE(log.find("stopped by SIGUSR1 in epoch") != std::string::npos ||
              log.find("stopped by SIGUSR1 after epoch") != std::string::npos) << log;
  EXPECT_NE(log.find("requeued " + task + " (restart 1 of at most 3)"), std::string::npos) << log;
  EXPECT_NE(log.find("epoch 40/40"), std::string::npos) << log;

  local(file, dir.file("local"));
  EXPECT_EQ(slurp(dir.file("cluster/sweep.csv")), slurp(dir.file("local/sweep.csv")));
  // Every metric of every epoch but the wall-clock seconds.
  auto a = testing::parse_csv_strict(slurp(dir.file("cluster/optimizer.lr=0.05/metrics.csv")));
  auto b = testing::parse_csv_strict(slurp(dir.file("local/optimizer.lr=0.05/metrics.csv")));
  ASSERT_EQ(a.rows.size(), 40u);
  ASSERT_EQ(a.rows.size(), b.rows.size());
  for (size_t r = 0; r < a.rows.size(); ++r) {
    for (size_t c = 0; c < a.header.size(); ++c) {
      if (a.header[c] != "seconds") EXPECT_EQ(a.rows[r][c], b.rows[r][c]) << "epoch " << r + 1 << " " << a.header[c];
    }
  }
}

TEST_F(SlurmCluster, FailedTaskCancelsItsDependents) {
  const auto file = testing::toy_failing_sweep(dir);
  const auto out = dir.file("cluster");
  const auto jobs = submit(file, out);
  ASSERT_EQ(jobs.size(), 2u);
  ASSERT_TRUE(wait_for([&] { return job_state(jobs[1]) == "CANCELLED"; }, 120)) << job_state(jobs[1]);
  const auto status = run_carve("status " + q(out));
  EXPECT_EQ(status.exit_code, 1);
  EXPECT_NE(status.out.find("3 tasks: 1 done, 0 running, 1 pending, 1 failed"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("| failed | " + dir.file("bad.amat")), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("(log: " + fs::absolute(out).string() + "/slurm/logs/level-0-" + jobs[0] + "_1.out)"),
            std::string::npos)
      << status.out;
  EXPECT_NE(status.out.find("| sweep | pending | will not start"), std::string::npos) << status.out;
  EXPECT_FALSE(fs::exists(dir.file("cluster/sweep.md")));
  EXPECT_FALSE(fs::exists(dir.file("cluster/slurm/logs/level-1-" + jobs[1] + "_0.out")));  // never started
}

}  // namespace
}  // namespace carve
