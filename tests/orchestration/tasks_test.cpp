// One task at a time (`carve run FILE --task ID`), several at once (`--jobs N`), their locks,
// `carve status`, and the SLURM scripts of `carve submit --dry-run`: every way of executing a
// plan ends with the same files as `carve run FILE` in one process.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "carve/orchestration/parallel.h"
#include "carve/orchestration/plan.h"
#include "carve/orchestration/slurm.h"
#include "carve/orchestration/status.h"
#include "carve/orchestration/task_lock.h"
#include "support/run_command.h"
#include "support/temp_dir.h"
#include "support/toy_plans.h"

namespace carve {
namespace {

namespace fs = std::filesystem;
using testing::run_carve;
using testing::slurp;
constexpr auto q = testing::quoted;

// The tasks of a plan run one by one as separate commands, in plan order, end where the whole
// plan run in one process ends: the same sweep.csv and sweep.md, byte for byte. A task whose
// dependencies have not finished is refused, naming them; a finished one is read back.
TEST(Tasks, OneByOneEqualTheWholeRun) {
  testing::TempDir dir;
  const auto file = testing::toy_sweep(dir);
  const auto whole = run_carve("--threads 1 run " + q(file) + " --out " + q(dir.file("whole")));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;

  const auto plan = make_plan(file, {}, dir.file("tasks"));
  ASSERT_EQ(plan.tasks.size(), 4u);
  const auto early = run_carve("--threads 1 run " + q(file) + " --out " + q(dir.file("tasks")) + " --task sweep");
  EXPECT_EQ(early.exit_code, 2);
  EXPECT_NE(early.err.find("task sweep waits for 3 unfinished tasks: point/optimizer.lr=0.01, point/optimizer.lr=0.05, "
                           "point/optimizer.lr=0.1"),
            std::string::npos)
      << early.err;
  EXPECT_EQ(testing::count_lines(early.err), 1u) << early.err;

  for (const auto& t : plan.tasks) {
    const auto r = run_carve("--threads 1 run " + q(file) + " --out " + q(dir.file("tasks")) + " --task " + q(t.id));
    ASSERT_EQ(r.exit_code, 0) << t.id << ": " << r.err;
  }
  EXPECT_EQ(slurp(dir.file("tasks/sweep.csv")), slurp(dir.file("whole/sweep.csv")));
  EXPECT_EQ(slurp(dir.file("tasks/sweep.md")), slurp(dir.file("whole/sweep.md")));

  // Again: read back, not retrained.
  const auto metrics = dir.file("tasks/optimizer.lr=0.05/metrics.csv");
  const auto before = fs::last_write_time(metrics);
  const auto again = run_carve("--threads 1 run " + q(file) + " --out " + q(dir.file("tasks")) +
                               " --task point/optimizer.lr=0.05");
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(fs::last_write_time(metrics), before);

  const auto unknown = run_carve("run " + q(file) + " --out " + q(dir.file("tasks")) + " --task point/nope");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("no task 'point/nope'"), std::string::npos) << unknown.err;
}

// While a process holds a task's lock, a second `--task` of it is refused (exit 2) with the
// holder's host and pid.
TEST(Tasks, ASecondProcessIsRefusedWhileTheTaskRuns) {
  testing::TempDir dir;
  const auto file = testing::toy_sweep(dir);
  const auto out = dir.file("run");
  const auto plan = make_plan(file, {}, out);
  fs::create_directories(fs::path(out) / "tasks");
  const auto& task = plan.task("point/optimizer.lr=0.1");
  const auto lock = TaskLock::acquire(task_file(plan, task, ".lock"), task.id);
  const auto r = run_carve("run " + q(file) + " --out " + q(out) + " --task point/optimizer.lr=0.1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("task point/optimizer.lr=0.1 is running already (host " + host_name() + " pid " +
                       std::to_string(::getpid())),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(fs::path(out) / "optimizer.lr=0.1" / "summary.json"));
  const auto status = plan_status(read_plan(out));
  EXPECT_EQ(status[2].state, TaskState::running);
  EXPECT_NE(status[2].detail.find("pid " + std::to_string(::getpid())), std::string::npos);
}

// A lock left by a process that died is taken over: through flock, and, on a filesystem
// without flock, by its pid on this host. A lock of another host is respected without flock.
TEST(Tasks, StaleLocksAreTakenOverLiveOnesAreNot) {
  testing::TempDir dir;
  const auto path = dir.file("t.lock");
  dir.write("t.lock", host_name() + " 999999 2026-01-01T00:00:00Z\n");  // no flock held: its holder is gone
  {
    const auto lock = TaskLock::acquire(path, "t");
    EXPECT_EQ(TaskLock::holder(path).rfind("host " + host_name() + " pid " + std::to_string(::getpid()) + " since ", 0), 0u);
  }
  EXPECT_FALSE(fs::exists(path));  // released

  ::setenv("CARVE_LOCK", "file", 1);  // as on a filesystem without flock
  dir.write("t.lock", host_name() + " 999999 2026-01-01T00:00:00Z\n");
  EXPECT_EQ(TaskLock::holder(path), "");
  { const auto lock = TaskLock::acquire(path, "t"); }
  dir.write("t.lock", "node17 4242 2026-01-01T00:00:00Z\n");
  EXPECT_EQ(TaskLock::holder(path), "host node17 pid 4242 since 2026-01-01T00:00:00Z");
  try {
    TaskLock::acquire(path, "t");
    ADD_FAILURE() << "a live lock of another host was taken";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("task t is running already (host node17 pid 4242"), std::string::npos) << e.what();
  }
  {
    const auto mine = (dir.path() / "mine.lock").string();
    const auto lock = TaskLock::acquire(mine, "m");  // a live process of this host
    EXPECT_THROW(TaskLock::acquire(mine, "m"), UsageError);
  }
  ::unsetenv("CARVE_LOCK");
}

// --jobs 2 (two processes of one thread) and --jobs 1 (one process of one thread) write the
// same sweep table; a suite whose runs choose by a sweep (late-bound seeds) too.
TEST(Tasks, JobsTwoEqualsJobsOne) {
  testing::TempDir dir;
  const auto sweep = testing::toy_sweep(dir);
  const auto suite = testing::toy_suite(dir);
  for (const auto& [file, table] : {std::pair{sweep, std::string("sweep.csv")}, std::pair{suite, std::string("table.csv")}}) {
    const auto one = run_carve("--threads 1 run " + q(file) + " --out " + q(dir.file("one")) + " --force");
    ASSERT_EQ(one.exit_code, 0) << one.err;
    const auto two = run_carve("--threads 2 run " + q(file) + " --out " + q(dir.file("two")) + " --jobs 2 --force");
    ASSERT_EQ(two.exit_code, 0) << two.err;
    EXPECT_NE(two.out.find("task " + make_plan(file, {}).tasks.back().id + " done"), std::string::npos) << two.out;
    EXPECT_EQ(slurp(dir.file("two/" + table)), slurp(dir.file("one/" + table))) << file;
    EXPECT_NE(two.out.find(slurp(dir.file("one/" + table.substr(0, table.size() - 4) + ".md"))), std::string::npos)
        << "the table is shown at the end:\n" << two.out;
    for (const auto& s : plan_status(read_plan(dir.file("two")))) EXPECT_EQ(s.state, TaskState::done) << s.task;
  }
  // A run directory that exists is refused without --resume or --force, as without --jobs.
  const auto again = run_carve("run " + q(suite) + " --out " + q(dir.file("two")) + " --jobs 2");
  EXPECT_EQ(again.exit_code, 2) << again.err;
}

// A task that fails stops --jobs from starting others (exit 1, the task's error in one line);
// `carve status` shows it failed with its message and its dependents as never to start.
TEST(Tasks, AFailedTaskShowsInStatus) {
  testing::TempDir dir;
  const auto file = testing::toy_failing_sweep(dir);
  const auto r = run_carve("--threads 2 run " + q(file) + " --out " + q(dir.file("run")) + " --jobs 2");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("failed (exit status 2): carve: " + dir.file("bad.amat")), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.file("run/sweep.md")));
  const auto s = run_carve("status " + q(dir.file("run")));
  EXPECT_EQ(s.exit_code, 1);
  EXPECT_NE(s.out.find("3 tasks: 1 done, 0 running, 1 pending, 1 failed"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("| failed | " + dir.file("bad.amat")), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("| sweep | pending | will not start: point/"), std::string::npos) << s.out;
}

// SIGUSR1 outside SLURM stops a run like SIGINT (exit 138) and `carve status` says where; a
// task started again after it finishes the plan.
TEST(Tasks, StatusOfAStoppedRun) {
  testing::TempDir dir;
  const auto file = testing::toy_sweep(dir);
  ::unsetenv("SLURM_JOB_ID");
  ::setenv("CARVE_TEST_SIGNAL_AFTER_STEPS", "14:USR1", 1);  // in the second point's first epoch
  const auto r = run_carve("--threads 1 run " + q(file) + " --out " + q(dir.file("run")));
  ::unsetenv("CARVE_TEST_SIGNAL_AFTER_STEPS");
  EXPECT_EQ(r.exit_code, 138) << r.err;
  EXPECT_NE(r.err.find("stopped by SIGUSR1"), std::string::npos) << r.err;
  const auto status = plan_status(read_plan(dir.file("run")));
  ASSERT_EQ(status.size(), 4u);
  EXPECT_EQ(status[0].state, TaskState::done);
  EXPECT_EQ(status[1].state, TaskState::pending);
  EXPECT_EQ(status[1].detail, "stopped at a checkpoint; resumes");
  EXPECT_EQ(status[2].state, TaskState::pending);
  EXPECT_EQ(status[2].detail, "");
  EXPECT_EQ(status[3].detail, "waits for 2 tasks");
  const auto resumed = run_carve("--threads 1 run " + q(file) + " --out " + q(dir.file("run")) + " --jobs 2 --resume");
  EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
  for (const auto& s : plan_status(read_plan(dir.file("run")))) EXPECT_EQ(s.state, TaskState::done) << s.task;
  const auto missing = run_carve("status " + q(dir.file("nothing")));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("no plan.json here"), std::string::npos) << missing.err;
}

// `carve submit --slurm --dry-run` prints one job array per dependency level — a suite's sweep
// points, its choices, its seeds, its table — each task once, with the preemption contract;
// it writes and submits nothing.
TEST(Tasks, SubmitDryRunPrintsOneArrayPerLevel) {
  testing::TempDir dir;
  const auto file = testing::toy_suite(dir);
  const auto out = dir.file("run");
  const auto r = run_carve("submit " + q(file) + " --slurm --dry-run --out " + q(out) +
                           " --partition short --time 1:00:00 --cpus-per-task 2 --mem 4G --array-parallelism 3"
                           " --sbatch-arg=--constraint=avx2 --max-requeues 5 --set training.epochs=1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(out));
  const auto plan = make_plan(file, {"training.epochs=1"}, out);
  const auto levels = dependency_levels(plan);
  ASSERT_EQ(levels.size(), 4u);  // points; select; seeds; table
  EXPECT_EQ(levels[0].size(), 4u);  // AE's two seeds, CAE's two sweep points
  EXPECT_EQ(levels[2].size(), 2u);  // CAE's seeds at the winner: the first copied, the second trained
  for (size_t l = 0; l < levels.size(); ++l) {
    EXPECT_NE(r.out.find(fmt::format("#SBATCH --array=0-{}%3\n", levels[l].size() - 1)), std::string::npos) << l;
    EXPECT_NE(r.out.find(fmt::format("level-{}.sbatch", l)), std::string::npos);
    for (const auto* t : levels[l]) EXPECT_NE(r.out.find("\n  " + t->id + "\n"), std::string::npos) << t->id;
  }
  for (const char* line : {"#SBATCH --requeue\n", "#SBATCH --signal=B:USR1@120\n", "#SBATCH --partition=short\n",
                           "#SBATCH --time=1:00:00\n", "#SBATCH --cpus-per-task=2\n", "#SBATCH --mem=4G\n",
                           "#SBATCH --constraint=avx2\n", "#SBATCH --open-mode=append\n", "--max-requeues 5",
                           "--set training.epochs=1", "--task \"${tasks[$SLURM_ARRAY_TASK_ID]}\"", "\nexec "}) {
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
  }
  EXPECT_NE(r.out.find("dry run: 4 job arrays; nothing written or submitted"), std::string::npos);
}

// Under SLURM, a preempted task requeues its own array task with scontrol (here a stand-in that
// records its arguments) and says so in `carve status`; one preempted more often than
// --max-requeues allows is not requeued: it fails, recorded; one whose requeue SLURM refuses
// fails too, saying why. (The real thing: SlurmCluster.PreemptedTaskRequeuesAndResumes.)
TEST(Tasks, PreemptionBeyondTheRequeueBoundFails) {
  testing::TempDir dir;
  const auto file = testing::toy_sweep(dir);
  const auto plan = make_plan(file, {}, dir.file("run"));
  fs::create_directories(dir.path() / "run" / "tasks");
  const auto& task = plan.task("point/optimizer.lr=0.1");
  ::setenv("SLURM_JOB_ID", "77", 1);
  ::setenv("SLURM_ARRAY_JOB_ID", "76", 1);
  ::setenv("SLURM_ARRAY_TASK_ID", "2", 1);
  const std::string path = std::getenv("PATH");
  ::setenv("PATH", (dir.path().string() + ":" + path).c_str(), 1);
  dir.write("scontrol", "#!/bin/sh\necho \"$@\" > " + dir.file("scontrol.args") + "\n");
  fs::permissions(dir.file("scontrol"), fs::perms::owner_all);
  ::setenv("SLURM_RESTART_COUNT", "1", 1);
  EXPECT_EQ(requeue_after_preemption(plan, task, 3),
            "requeued 76_2 (restart 2 of at most 3); it resumes from its checkpoint");
  EXPECT_EQ(slurp(dir.file("scontrol.args")), "requeue 76_2\n");
  EXPECT_EQ(plan_status(plan)[2].detail, "requeued after preemption, resumes from its checkpoint");

  ::setenv("SLURM_RESTART_COUNT", "3", 1);
  try {
    requeue_after_preemption(plan, task, 3);
    ADD_FAILURE() << "requeued beyond the bound";
  } catch (const TaskFailed& e) {
    EXPECT_NE(std::string(e.what()).find("was preempted 4 times (--max-requeues 3): not requeued"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(fs::exists(task_file(plan, task, ".failed")));
  EXPECT_EQ(plan_status(plan)[2].state, TaskState::failed);
  dir.write("scontrol", "#!/bin/sh\necho 'scontrol: error: Invalid job id specified' >&2\nexit 1\n");
  ::setenv("SLURM_RESTART_COUNT", "0", 1);
  try {
    requeue_after_preemption(plan, task, 3);
    ADD_FAILURE() << "a requeue that SLURM refused passed";
  } catch (const TaskFailed& e) {
    EXPECT_NE(std::string(e.what()).find("scontrol requeue 76_2 failed: scontrol: error: Invalid job id specified"),
              std::string::npos)
        << e.what();
  }
  ::setenv("PATH", path.c_str(), 1);
  for (const char* v : {"SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_RESTART_COUNT"}) ::unsetenv(v);
}

// SLURM answers `scontrol requeue` of a running job by ending the job: SIGTERM to every one of its
// processes, scontrol too, sometimes before scontrol has reported back (CI saw it). The task must
// still requeue, record it and say so. The stand-in scontrol does what slurmstepd does — SIGTERM
// to the whole process group, which setsid makes carve's own — then reports success.
TEST(Tasks, RequeueSurvivesSlurmEndingTheJob) {
  testing::TempDir dir;
  const auto file = testing::toy_sweep(dir);
  dir.write("scontrol", "#!/bin/sh\necho \"$@\" > " + dir.file("scontrol.args") + "\nkill -TERM 0\nsleep 1\n");
  fs::permissions(dir.file("scontrol"), fs::perms::owner_all);
  const std::string env = "PATH=" + q(dir.path().string() + ":" + std::getenv("PATH")) +
                          " SLURM_JOB_ID=77 SLURM_ARRAY_JOB_ID=76 SLURM_ARRAY_TASK_ID=1 SLURM_RESTART_COUNT=0"
                          " CARVE_TEST_SIGNAL_AFTER_STEPS=3:USR1";
  const std::string command = "env " + env + " setsid --wait " + q(CARVE_EXE) + " --threads 1 run " + q(file) +
                              " --out " + q(dir.file("run")) + " --task point/optimizer.lr=0.05 > " +
                              q(dir.file("out")) + " 2> " + q(dir.file("err")) + " < /dev/null";
  const int status = std::system(command.c_str());
  const auto err = slurp(dir.file("err"));
  ASSERT_TRUE(WIFEXITED(status)) << err;
  EXPECT_EQ(WEXITSTATUS(status), 138) << err;
  EXPECT_NE(err.find("stopped by SIGUSR1"), std::string::npos) << err;
  EXPECT_NE(err.find("requeued 76_1 (restart 1 of at most 3); it resumes from its checkpoint"), std::string::npos) << err;
  EXPECT_EQ(slurp(dir.file("scontrol.args")), "requeue 76_1\n");
  const auto plan = read_plan(dir.file("run"));
  EXPECT_EQ(plan_status(plan)[1].detail, "requeued after preemption, resumes from its checkpoint");

  // A requeue SLURM refuses: one line saying so, exit 1, and no record of a requeue.
  dir.write("scontrol", "#!/bin/sh\necho 'scontrol: error: Job has already finished' >&2\nexit 1\n");
  ASSERT_EQ(std::system(command.c_str()), 1 << 8) << slurp(dir.file("err"));
  EXPECT_EQ(slurp(dir.file("err")).substr(slurp(dir.file("err")).find('\n') + 1),
            "carve: task point/optimizer.lr=0.05: scontrol requeue 76_1 failed: scontrol: error: Job has already "
            "finished\n");
  EXPECT_EQ(plan_status(plan)[1].detail, "stopped at a checkpoint; resumes");
}

}  // namespace
}  // namespace carve
