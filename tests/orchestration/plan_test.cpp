// The task plan: what a sweep and a suite with per-run sweeps expand into (ids, kinds,
// directories, dependencies, late-bound seeds), plan.json frozen on the first run, and a file
// that now expands into other tasks refused on --resume.
#include <gtest/gtest.h>

#include <filesystem>

#include "carve/data/amat.h"
#include "carve/error.h"
#include "carve/orchestration/plan.h"
#include "carve/orchestration/sweep.h"
#include "support/run_command.h"
#include "support/temp_dir.h"

namespace carve {
namespace {

namespace fs = std::filesystem;

class Plans : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(0);
    write_amat(dir.file("toy.amat"), {torch::rand({120, 1, 4, 4}), torch::randint(0, 2, {120}, torch::kInt64)});
  }
  std::string file(const std::string& name, const std::string& extra) const {
    dir.write(name, "name: toy\nseed: 3\ndevice: cpu\ndata: {dataset: 'amat:" + dir.file("toy.amat") +
                        "', valid: 20, test: 20}\nmodel: {hidden: 3}\ntraining: {batch_size: 20, epochs: 1}\n" + extra);
    return dir.file(name);
  }
  testing::TempDir dir;
};

std::vector<std::string> ids(const Plan& p) {
  std::vector<std::string> out;
  for (const auto& t : p.tasks) out.push_back(t.id);
  return out;
}

TEST_F(Plans, ASweepIsItsPointsThenItsTable) {
  const auto plan = make_plan(file("s.yaml", "sweep: {regularizers.contractive.weight: [0.0, 0.1]}\n"), {"seed=5"});
  EXPECT_EQ(ids(plan), (std::vector<std::string>{"point/contractive.weight=0.0", "point/contractive.weight=0.1", "sweep"}));
  EXPECT_EQ(plan.tasks[1].overrides, (std::vector<std::string>{"seed=5", "regularizers.contractive.weight=0.1"}));
  EXPECT_EQ(plan.tasks[1].seed, 5u);
  EXPECT_EQ(plan.tasks[2].kind, TaskKind::sweep_table);
  EXPECT_EQ(plan.tasks[2].depends_on.size(), 2u);
  EXPECT_EQ(plan.to_json()["tasks"].size(), 3u);
}

TEST_F(Plans, ASuiteSweepSelectsThenItsSeedsRunAtTheWinner) {
  const auto plan = make_plan(file("u.yaml", "finetune: {epochs: 1}\nsuite:\n  seeds: [1, 2]\n  runs:\n"
                                             "    - {name: AE}\n"
                                             "    - {name: DAE, set: {corruption.type: masking},"
                                             " sweep: {corruption.level: [0.1, 0.3]}}\n"), {});
  EXPECT_EQ(ids(plan), (std::vector<std::string>{"AE/seed-1", "AE/seed-2", "DAE/sweep/corruption.level=0.1", "DAE/sweep/corruption.level=0.3",
                                                 "DAE/select", "DAE/seed-1", "DAE/seed-2", "table"}));
  const auto& select = plan.task("DAE/select");
  EXPECT_EQ(select.kind, TaskKind::select);
  EXPECT_EQ(select.depends_on, (std::vector<std::string>{"DAE/sweep/corruption.level=0.1", "DAE/sweep/corruption.level=0.3"}));
  EXPECT_EQ(plan.task("DAE/seed-1").kind, TaskKind::copy_winner);  // the winner ran with seed 1
  EXPECT_EQ(plan.task("DAE/seed-2").chosen_from, "DAE/select");
  EXPECT_EQ(plan.task("DAE/seed-2").depends_on, (std::vector<std::string>{"DAE/select"}));
  EXPECT_EQ(plan.task("table").depends_on.size(), 4u);
}

TEST_F(Plans, PlanJsonIsFrozenAndAChangedGridIsRefusedOnResume) {
  const auto f = file("s.yaml", "sweep: {regularizers.contractive.weight: [0.0, 0.1]}\n");
  RunOptions o;
  o.out = dir.file("run");
  run_file(f, {}, o);
  ASSERT_TRUE(fs::exists(dir.path() / "run" / "plan.json"));
  o.resume = true;
  EXPECT_NO_THROW(run_file(f, {}, o));  // the same plan: every point is read back
  file("s.yaml", "sweep: {regularizers.contractive.weight: [0.0, 0.2]}\n");  // another grid, same file
  try {
    run_file(f, {}, o);
    FAIL() << "a changed grid resumed";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("other tasks than the run's plan.json"), std::string::npos) << e.what();
  }
}

TEST(PlanCli, PrintsEveryExperimentFilesPlan) {
  for (const auto& e : fs::recursive_directory_iterator(fs::path(CARVE_TEST_SOURCE_DIR) / "experiments")) {
    if (e.path().extension() != ".yaml") continue;
    const auto r = testing::run_carve("plan '" + e.path().string() + "' --format json");
    EXPECT_EQ(r.exit_code, 0) << e.path() << ": " << r.err;
    EXPECT_NE(r.out.find("\"tasks\""), std::string::npos) << e.path();
  }
}

}  // namespace
}  // namespace carve
