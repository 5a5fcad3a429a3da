// carve analyze / compare on a small run: every file written, every picture a PNG of its
// stated size, the report linking them.
#include "carve/report/analysis.h"

#include <gtest/gtest.h>

#include <torch/script.h>

#include <filesystem>
#include <regex>
#include <set>

#include "carve/config/stack.h"
#include "carve/data/amat.h"
#include "carve/orchestration/sweep.h"
#include "carve/report/images.h"
#include "carve/resources.h"
#include "carve/train/trainer.h"
#include "support/csv.h"
#include "support/run_command.h"
#include "support/temp_dir.h"

namespace carve {
namespace {

namespace fs = std::filesystem;

class Analysis : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system(("'" + python_interpreter() + "' -c 'import matplotlib' > /dev/null 2>&1").c_str()) != 0) {
      GTEST_SKIP() << python_interpreter() << " has no matplotlib (tools/setup.sh installs python3-matplotlib; "
                   << "CARVE_PYTHON names another python): plots are not checked";
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
  // 30 filters of 8x8 in rows of 10 with 1-pixel borders, twice the size: (10*9+1) x (3*9+1), under a
  // title 50 pixels high, on a figure at least 700 pixels wide.
  EXPECT_EQ(png_size((out / "filters.png").string()), (std::pair<int64_t, int64_t>{700, 2 * 28 + 50}));
  // 10 originals over 10 reconstructions.
  EXPECT_EQ(png_size((out / "reconstructions.png").string()), (std::pair<int64_t, int64_t>{700, 2 * 19 + 50}));
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
  EXPECT_NE(table.find("| test error % |"), std::string::npos) << table;
  // The runs were never analyzed: compare analyzed them under its --out, and wrote nothing into them.
  for (const auto& run : {a, b}) {
    EXPECT_FALSE(fs::exists(fs::path(run) / "analysis")) << run;
    EXPECT_FALSE(fs::exists(fs::path(run) / "report.md")) << run;
  }
  EXPECT_TRUE(fs::exists(dir.file("cmp/runs/1-ae/analysis.json")));
  EXPECT_NE(r.out.find("contraction curve, 10 points"), std::string::npos) << r.out;  // progress, stage by stage
  EXPECT_EQ(testing::run_carve("compare '" + a + "'").exit_code, 2);
  EXPECT_EQ(testing::run_carve("analyze '" + dir.file("nope") + "'").exit_code, 2);
}

// A stack's directory is a run like any other: carve export, analyze and compare take it.
TEST_F(Analysis, AStackExportsAnalyzesAndComparesLikeARun) {
  dir.write("stack.yaml", "name: stack\nseed: 2\ndevice: cpu\ndata: {dataset: 'amat:" + dir.file("toy.amat") +
                              "', valid: 50, test: 50}\nmodel: {hidden: 20}\noptimizer: {lr: 0.1, momentum: 0.5}\n"
                              "training: {epochs: 2}\nstack:\n  - {regularizers.contractive.weight: 0.1}\n"
                              "  - {model.type: rbm, model.hidden: 9}\n");
  // carve check shows the stack's plan and layers, and refuses what carve run refuses.
  const auto checked = testing::run_carve("check '" + dir.file("stack.yaml") + "'");
  ASSERT_EQ(checked.exit_code, 0) << checked.err;
  EXPECT_NE(checked.out.find("stack layer 2: model.type=rbm, model.hidden=9"), std::string::npos) << checked.out;
  dir.write("both.yaml", testing::slurp(dir.file("stack.yaml")) + "sweep: {optimizer.lr: [0.1, 0.2]}\n");
  const auto both = testing::run_carve("check '" + dir.file("both.yaml") + "'");
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("a file holds one of a suite, a sweep or a stack"), std::string::npos) << both.err;
  RunOptions o;
  o.out = dir.file("stack");
  run_file(dir.file("stack.yaml"), {}, o);
  // Its config.yaml is the whole resolved file, stack block included.
  const auto config = testing::slurp(dir.file("stack/config.yaml"));
  EXPECT_NE(config.find("stack:"), std::string::npos) << config;
  EXPECT_EQ(load_stack(dir.file("stack/config.yaml")), load_stack(dir.file("stack.yaml")));

  const auto exported = testing::run_carve("export '" + dir.file("stack") + "' --out '" + dir.file("stack.pt") + "'");
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  auto m = torch::jit::load(dir.file("stack.pt"));
  EXPECT_EQ(m.attr("layers").toInt(), 2);
  EXPECT_EQ(m.attr("hidden").toInt(), 9);
  EXPECT_TRUE(m.attr("has_decoder").toBool());
  // decode runs the RBM's E[v | h] then the CAE's decoder: back to the 64 inputs in [0, 1].
  const auto x = torch::rand({5, 64});
  const auto r = m.run_method("reconstruct", x).toTensor();
  EXPECT_EQ(r.sizes(), (std::vector<int64_t>{5, 64}));
  EXPECT_TRUE(r.ge(0).all().item<bool>() && r.le(1).all().item<bool>());
  auto cae = torch::jit::load(dir.file("stack/layer-1/encoder.pt"));
  auto rbm = torch::jit::load(dir.file("stack/layer-2/encoder.pt"));
  const auto h = rbm.forward({cae.forward({x}).toTensor()}).toTensor();
  const auto expected = cae.run_method("decode", rbm.run_method("decode", h).toTensor()).toTensor();
  EXPECT_LE((r - expected).abs().max().item<double>(), 1e-6);

  const auto analyzed = testing::run_carve("analyze '" + dir.file("stack") + "' --points 10 --radii 0.5,1");
  ASSERT_EQ(analyzed.exit_code, 0) << analyzed.err;
  const auto report = testing::slurp(dir.file("stack/report.md"));
  EXPECT_NE(report.find("a stack of 2 layers, 64 → 20 → 9"), std::string::npos) << report;
  EXPECT_EQ(png_size(dir.file("stack/analysis/training-loss.png")), (std::pair<int64_t, int64_t>{800, 500}));
  // No number in the report carries more than five significant digits.
  EXPECT_FALSE(std::regex_search(report, std::regex("[0-9]\\.[0-9]{6,}"))) << report;

  const auto single = run("single", 0.0);
  const auto compared = testing::run_carve("compare '" + single + "' '" + dir.file("stack") + "' --out '" + dir.file("cmp") +
                                           "' --points 10 --radii 0.5,1");
  ASSERT_EQ(compared.exit_code, 0) << compared.err;
  const auto csv = testing::parse_csv_strict(testing::slurp(dir.file("cmp/compare.csv")));
  ASSERT_EQ(csv.rows.size(), 2u);
  EXPECT_EQ(csv.at(1, "run"), "stack");
  EXPECT_EQ(csv.at(1, "smallest_radius"), "0.5");
  EXPECT_EQ(testing::slurp(dir.file("cmp/compare.md")).find("Not comparable"), std::string::npos);
}

// Runs analyzed at different radii are marked, not silently put side by side; a sweep point's
// name, which holds commas, stays one CSV field.
TEST_F(Analysis, CompareMarksDifferentRadiiAndWritesStrictCsv) {
  dir.write("sweep.yaml", "name: sw\ndevice: cpu\ndata: {dataset: 'amat:" + dir.file("toy.amat") +
                              "', valid: 50, test: 50}\nmodel: {hidden: 10}\ntraining: {epochs: 1}\n"
                              "sweep: {regularizers.contractive.weight: [0.0, 0.5], optimizer.lr: [0.01, 0.1]}\n");
  RunOptions o;
  o.out = dir.file("sw");
  run_file(dir.file("sweep.yaml"), {}, o);
  const auto sweep = testing::parse_csv_strict(testing::slurp(dir.file("sw/sweep.csv")));
  ASSERT_EQ(sweep.rows.size(), 4u);
  std::set<std::string> weights;
  for (size_t r = 0; r < 4; ++r) {
    weights.insert(sweep.at(r, "regularizers.contractive.weight"));
    EXPECT_NE(sweep.at(r, "point").find(','), std::string::npos);
    EXPECT_EQ(sweep.at(r, "rank"), std::to_string(r + 1));
  }
  EXPECT_EQ(weights, (std::set<std::string>{"0.0", "0.5"}));
  const auto a = dir.file("sw/contractive.weight=0.0,optimizer.lr=0.01"), b = dir.file("sw/contractive.weight=0.5,optimizer.lr=0.1");
  ASSERT_EQ(testing::run_carve("analyze '" + a + "' --points 10 --radii 0.1,1").exit_code, 0);
  ASSERT_EQ(testing::run_carve("analyze '" + b + "' --points 10 --radii 0.5,1").exit_code, 0);
  const auto r = testing::run_carve("compare '" + a + "' '" + b + "' --out '" + dir.file("cmp") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto md = testing::slurp(dir.file("cmp/compare.md"));
  EXPECT_NE(md.find("Not comparable as they stand"), std::string::npos) << md;
  const auto csv = testing::parse_csv_strict(testing::slurp(dir.file("cmp/compare.csv")));
  EXPECT_EQ(csv.at(0, "run"), "contractive.weight=0.0,optimizer.lr=0.01");
  EXPECT_EQ(csv.at(0, "smallest_radius"), "0.1");
  EXPECT_EQ(csv.at(1, "smallest_radius"), "0.5");
  // Every other CSV of the sweep parses strictly too.
  for (const auto& e : fs::recursive_directory_iterator(dir.path() / "sw")) {
    if (e.path().extension() == ".csv") EXPECT_NO_THROW(testing::parse_csv_strict(testing::slurp(e.path().string()))) << e.path();
  }
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
