// carve analyze / compare on a small run: every file written, every picture a PNG of its
// stated size, the report linking them.
#include "carve/report/analysis.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "carve/data/amat.h"
#include "carve/report/images.h"
#include "carve/train/trainer.h"
#include "support/run_command.h"
#include "support/temp_dir.h"

namespace carve {
namespace {

namespace fs = std::filesystem;

class Analysis : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("/usr/bin/python3 -c 'import matplotlib' > /dev/null 2>&1") != 0) {
      GTEST_SKIP() << "python3-matplotlib is not installed (tools/setup.sh installs it): plots are not checked";
    }
    torch::manual_seed(0);
    write_amat(dir.file("toy.amat"), {torch::rand({300, 1, 8, 8}), torch::randint(0, 2, {300}, torch::kInt64)});
  }
  std::string run(const std::string& name, double contractive, const std::string& type = "autoencoder") {
    const auto spec = parse_experiment(
        fmt::format("name: {}\ndevice: cpu\ndata: {{dataset: 'amat:{}', valid: 50, test: 50}}\nmodel: {{type: {}, hidden: 30}}\n"
                    "{}optimizer: {{lr: 0.1, momentum: 0.5}}\ntraining: {{epochs: 3}}\n", name, dir.file("toy.amat"), type,
                    contractive > 0 ? fmt::format("regularizers: {{contractive: {{weight: {}}}}}\n", contractive) : ""),
        "toy.yaml");
    RunOptions o;
    o.out = dir.file(name);
    return run_experiment(spec, o).directory;
  }
  testing::TempDir dir;
};

TEST_F(Analysis, WritesEveryFileAndEveryPngHasItsStatedSize) {
  const auto d = run("cae", 0.5);
  AnalysisOptions o;
  o.points = 20;
  o.radii = {0.5, 1, 2};
  const auto a = analyze_run(d, o);
  EXPECT_EQ(a["points"], 20);
  const fs::path out = fs::path(d) / "analysis";
  for (const char* f : {"contraction.csv", "spectrum.csv", "saturation.csv", "analysis.json"}) {
    EXPECT_TRUE(fs::exists(out / f)) << f;
  }
  for (const char* f : {"contraction.png", "spectrum.png", "activations.png", "training-loss.png",
                        "training-jacobian.png", "training-saturation.png"}) {
    EXPECT_EQ(png_size((out / f).string()), (std::pair<int64_t, int64_t>{800, 500})) << f;
  }
  // 30 filters of 8x8 in rows of 10 with 1-pixel borders, twice the size: (10*9+1) x (3*9+1).
  EXPECT_EQ(png_size((out / "filters.png").string()), (std::pair<int64_t, int64_t>{2 * 91, 2 * 28}));
  // 10 originals over 10 reconstructions.
  EXPECT_EQ(png_size((out / "reconstructions.png").string()), (std::pair<int64_t, int64_t>{2 * 91, 2 * 19}));
  const auto report = testing::slurp((fs::path(d) / "report.md").string());
  for (const char* link : {"analysis/contraction.png", "analysis/spectrum.png", "analysis/filters.png",
                           "analysis/reconstructions.png", "analysis/activations.png", "metrics.csv"}) {
    EXPECT_NE(report.find(link), std::string::npos) << link;
  }
  EXPECT_FALSE(fs::exists(out / "training-pseudo-likelihood.png"));  // auto-encoders have none
  EXPECT_EQ(testing::count_lines(testing::slurp((out / "contraction.csv").string())), 4u);
  EXPECT_EQ(testing::count_lines(testing::slurp((out / "spectrum.csv").string())), 31u);  // min(64, 30) + header
}

TEST_F(Analysis, AnRbmRunShowsItsPseudoLikelihoodCurve) {
  const auto d = run("rbm", 0, "rbm");
  AnalysisOptions o;
  o.points = 20;
  o.radii = {1};
  analyze_run(d, o);
  EXPECT_EQ(png_size((fs::path(d) / "analysis" / "training-pseudo-likelihood.png").string()),
            (std::pair<int64_t, int64_t>{800, 500}));
  const auto report = testing::slurp((fs::path(d) / "report.md").string());
  EXPECT_NE(report.find("analysis/training-pseudo-likelihood.png"), std::string::npos) << report;
}

TEST_F(Analysis, CompareOverlaysRunsAndTabulatesThem) {
  const auto a = run("ae", 0.0), b = run("cae", 1.0);
  const auto r = testing::run_carve("compare '" + a + "' '" + b + "' --out '" + dir.file("cmp") + "' --points 10");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* f : {"contraction.png", "spectrum.png", "valid-reconstruction.png", "jacobian.png"}) {
    EXPECT_EQ(png_size(dir.file(std::string("cmp/") + f)), (std::pair<int64_t, int64_t>{800, 500})) << f;
  }
  const auto table = testing::slurp(dir.file("cmp/compare.md"));
  EXPECT_NE(table.find("| ae |"), std::string::npos) << table;
  EXPECT_NE(table.find("| cae |"), std::string::npos) << table;
  EXPECT_EQ(testing::run_carve("compare '" + a + "'").exit_code, 2);
  EXPECT_EQ(testing::run_carve("analyze '" + dir.file("nope") + "'").exit_code, 2);
}

TEST(Images, GridAndPngRoundTrip) {
  testing::TempDir dir;
  const auto grid = image_grid(torch::rand({7, 3, 5}), 4);
  EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{2 * 4 + 1, 4 * 6 + 1}));
  write_png(dir.file("g.png"), grid, 3);
  EXPECT_EQ(png_size(dir.file("g.png")), (std::pair<int64_t, int64_t>{75, 27}));
  dir.write("not.png", "hello, world, not a png");
  EXPECT_EQ(png_size(dir.file("not.png")), (std::pair<int64_t, int64_t>{0, 0}));
}

}  // namespace
}  // namespace carve
