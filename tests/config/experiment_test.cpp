// Experiment files: defaults, the resolved round trip, and every bad-input case located at
// FILE:LINE:COL before anything runs.
#include "carve/config/experiment.h"

#include <gtest/gtest.h>

#include "carve/config/yaml_reader.h"
#include "carve/error.h"
#include "support/run_command.h"
#include "support/temp_dir.h"
#include "support/toy_plans.h"

namespace carve {
namespace {

const char* kMinimal = "name: t\ndata:\n  dataset: mnist\n";

TEST(Experiment, MinimalFileTakesDocumentedDefaults) {
  const auto s = parse_experiment(kMinimal, "t.yaml");
  EXPECT_EQ(s.name, "t");
  EXPECT_EQ(s.model.hidden, 1000);
  EXPECT_EQ(s.model.activation, Activation::sigmoid);
  EXPECT_TRUE(s.model.tied);
  EXPECT_EQ(s.optimizer.type, OptimizerType::sgd);
  EXPECT_DOUBLE_EQ(s.optimizer.lr, 0.01);
  EXPECT_EQ(s.training.batch_size, 20);
  EXPECT_EQ(s.corruption.type, CorruptionType::none);
  // The resolved configuration reads back to itself.
  EXPECT_EQ(to_yaml(parse_experiment(to_yaml(s), "resolved.yaml")), to_yaml(s));
}

TEST(Experiment, AnalysisBlockIsReadAndResolved) {
  const auto s = parse_experiment(std::string(kMinimal) + "analysis: {points: 7, radii: [0.5, 2]}\n", "t.yaml");
  EXPECT_TRUE(s.analysis.enabled);
  EXPECT_EQ(s.analysis.points, 7);
  EXPECT_EQ(s.analysis.radii, (std::vector<double>{0.5, 2}));
  EXPECT_EQ(to_yaml(parse_experiment(to_yaml(s), "r.yaml")), to_yaml(s));
  EXPECT_FALSE(parse_experiment(kMinimal, "t.yaml").analysis.enabled);
}

TEST(Experiment, OverridesApplyAndSweepsExpand) {
  const auto s = parse_experiment(std::string(kMinimal) + "sweep:\n  regularizers.contractive.weight: [0.1, 0.2]\n"
                                  "  corruption.level: [0, 0.1, 0.2]\n",
                                  "t.yaml", {"model.hidden=50", "regularizers.contractive.method=exact"});
  EXPECT_EQ(s.model.hidden, 50);
  EXPECT_EQ(s.regularizers.contractive.method, ContractiveMethod::exact);
  const auto points = sweep_points(s);
  ASSERT_EQ(points.size(), 6u);
  EXPECT_EQ(points[5], (std::vector<std::string>{"regularizers.contractive.weight=0.2", "corruption.level=0.2"}));
}

struct BadCase {
  std::string name, text, expected;
  std::vector<std::string> overrides = {};
};

class ExperimentBadInput : public ::testing::TestWithParam<BadCase> {};

TEST_P(ExperimentBadInput, OneLocatedMessage) {
  const auto& c = GetParam();
  try {
    parse_experiment(c.text, "exp.yaml", c.overrides);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(c.expected, 0), 0u) << e.what();
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(c.expected, 0), 0u) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ExperimentBadInput,
    ::testing::Values(
        BadCase{"UnknownTopKey", "nmae: x\ndata: {dataset: mnist}\n", "exp.yaml:1:1: unknown key 'nmae' (did you mean 'name'?)"},
        BadCase{"UnknownNestedKey", "name: x\ndata:\n  dataset: mnist\n  vaild: 3\n",
                "exp.yaml:4:3: unknown key 'vaild' in data (did you mean 'valid'?)"},
        BadCase{"UnknownRegularizerKey", "name: x\ndata: {dataset: mnist}\nregularizers:\n  contractive: {wieght: 0.1}\n",
                "exp.yaml:4:17: unknown key 'wieght' in regularizers.contractive (did you mean 'weight'?)"},
        BadCase{"WrongType", "name: x\ndata: {dataset: mnist}\ntraining:\n  epochs: ten\n",
                "exp.yaml:4:11: training.epochs: expected an integer, got 'ten'"},
        BadCase{"WrongTypeList", "name: x\ndata: {dataset: mnist}\nmodel: {hidden: [1, 2]}\n",
                "exp.yaml:3:17: model.hidden: expected an integer, got a list"},
        BadCase{"OutOfRange", "name: x\ndata: {dataset: mnist}\noptimizer:\n  lr: -1\n",
                "exp.yaml:4:7: optimizer.lr: must be > 0, got -1"},
        BadCase{"OutOfRangeFraction", "name: x\ndata: {dataset: mnist}\ncorruption: {type: masking, level: 1.5}\n",
                "exp.yaml:3:36: corruption.level: must be in [0, 1), got 1.5"},
        BadCase{"MissingRequired", "data: {dataset: mnist}\n", "exp.yaml:1:1: missing required key 'name'"},
        BadCase{"MisspeltRequired", "data: {dataset: mnist}\nnmae: x\n", "exp.yaml:2:1: unknown key 'nmae' (did you mean 'name'?)"},
        BadCase{"MissingDataset", "name: x\ndata: {valid: 10}\n", "exp.yaml:2:7: missing required key 'data.dataset' in data"},
        BadCase{"MissingDataPath", "name: x\ndata: {dataset: 'amat:/no/such/file.amat'}\n",
                "exp.yaml:2:17: data.dataset: no such file or directory: /no/such/file.amat"},
        BadCase{"UnknownDataset", "name: x\ndata: {dataset: mnits}\n",
                "exp.yaml:2:17: data.dataset: unknown dataset 'mnits'"},
        BadCase{"UnknownChoice", "name: x\ndata: {dataset: mnist}\nmodel: {activation: sigmod}\n",
                "exp.yaml:3:21: model.activation: unknown value 'sigmod' (expected one of: sigmoid, tanh, softplus, relu, linear); did you mean 'sigmoid'?"},
        BadCase{"DuplicateKey", "name: x\ndata: {dataset: mnist}\nmodel: {hidden: 5}\nmodel: {hidden: 7}\n",
                "exp.yaml:4:1: duplicate key 'model' (first at line 3)"},
        BadCase{"AnalysisRadii", "name: x\ndata: {dataset: mnist}\nanalysis: {radii: [1, -2]}\n",
                "exp.yaml:3:19: analysis.radii: expected positive numbers, got '-2'"},
        BadCase{"AnalysisUnknownKey", "name: x\ndata: {dataset: mnist}\nanalysis: {pionts: 5}\n",
                "exp.yaml:3:12: unknown key 'pionts' in analysis (did you mean 'points'?)"},
        BadCase{"YamlSyntax", "name: x\ndata: {dataset: mnist\n", "exp.yaml:3:1: YAML syntax error"},
        BadCase{"NotAMapping", "name: x\ndata: mnist\n", "exp.yaml:2:7: data must be a mapping"},
        BadCase{"Inconsistent", "name: x\ndata: {dataset: mnist}\nmodel: {decoder_activation: linear, loss: cross_entropy}\n",
                "exp.yaml:3:43: model.loss: cross_entropy needs decoder_activation: sigmoid"},
        BadCase{"PatienceWithoutValid", "name: x\ndata: {dataset: mnist}\ntraining: {patience: 3}\n",
                "exp.yaml:3:22: training.patience: early stopping needs a validation split"},
        BadCase{"BadOverride", kMinimal, "exp.yaml: --set training.epochs: training.epochs: expected an integer", {"training.epochs=zero"}},
        BadCase{"BadSweepPoint", "name: x\ndata: {dataset: mnist}\nsweep:\n  optimizer.lr: [0.1, -2]\n",
                "exp.yaml:4:3: optimizer.lr: must be > 0, got -2 (sweep point optimizer.lr=-2)"},
        BadCase{"SweepKeyTypo", "name: x\ndata: {dataset: mnist}\nsweep:\n  optimizer.lrr: [0.1]\n",
                "exp.yaml:4:3: unknown key 'lrr' in optimizer (did you mean 'lr'?) (sweep point optimizer.lrr=0.1)"},
        BadCase{"SweepNotAList", "name: x\ndata: {dataset: mnist}\nsweep:\n  optimizer.lr: 0.1\n",
                "exp.yaml:4:17: sweep.optimizer.lr: expected a non-empty list"}),
    [](const auto& info) { return info.param.name; });

TEST(Experiment, OverrideErrorsNameTheOverride) {
  try {
    parse_experiment(kMinimal, "t.yaml", {"training.epochs=zero"});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "t.yaml: --set training.epochs: training.epochs: expected an integer, got 'zero'");
  }
  EXPECT_THROW(parse_experiment(kMinimal, "t.yaml", {"no-equals-sign"}), UsageError);
}

TEST(ExperimentCli, BadFileExitsTwoWithOneLineAndNoRunDirectory) {
  testing::TempDir dir;
  dir.write("bad.yaml", "name: bad\ndata:\n  dataset: mnist\n  vaild: 3\n");
  const auto run_dir = dir.file("run");
  const auto r = testing::run_carve("run '" + dir.file("bad.yaml") + "' --out '" + run_dir + "'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(testing::count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find(dir.file("bad.yaml") + ":4:3: unknown key 'vaild' in data (did you mean 'valid'?)"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(run_dir));
  const auto c = testing::run_carve("check '" + dir.file("bad.yaml") + "'");
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_EQ(testing::run_carve("check '" + dir.file("missing.yaml") + "'").exit_code, 2);
}

TEST(YamlReader, SuggestsOnlyCloseKeys) {
  EXPECT_EQ(config::closest("lamda", {"lambda", "sigma"}), "lambda");
  EXPECT_EQ(config::closest("zzzzzz", {"lambda", "sigma"}), "");
}

}  // namespace
}  // namespace carve

namespace carve {
namespace {

std::string config_error(const std::string& text, const std::vector<std::string>& overrides = {}) {
  testing::TempDir dir;
  dir.write("x.yaml", text);
  try {
    load_experiment(dir.file("x.yaml"), overrides);
  } catch (const UsageError& e) {
    const std::string what = e.what();
    return what.substr(what.find("x.yaml") == std::string::npos ? 0 : what.find("x.yaml"));
  }
  return "accepted";
}

// yaml-cpp parses nested collections by recursion without a limit: before the fence, 100,000
// '[' overflowed the stack (a crash the fuzzer of the experiment reader would find at once).
// Nesting beyond kMaxYamlDepth, in flow or block style, and files beyond kMaxYamlBytes are
// refused in one line at their place, before yaml-cpp sees them; --set values too.
TEST(YamlReader, BoundsNestingAndSizeBeforeParsing) {
  EXPECT_EQ(config_error("name: x\nseed: " + std::string(100000, '[')), "x.yaml:2:71: nested deeper than carve reads (64 levels)");
  std::string block = "name: x\n";
  for (int i = 0; i < 300; ++i) block += std::string(i, ' ') + "k" + std::to_string(i) + ":\n";
  EXPECT_EQ(config_error(block), "x.yaml:259:258: nested deeper than carve reads (64 levels)");
  std::string dashes = "name: x\nseed:\n";
  for (int i = 0; i < 100; ++i) dashes += "- ";
  EXPECT_NE(config_error(dashes + "1\n").find("nested deeper than carve reads"), std::string::npos);
  EXPECT_NE(config_error("name: x\n#" + std::string(2 << 20, 'a') + "\n").find("bytes; an experiment file is at most 1048576"),
            std::string::npos);
  // Brackets inside quotes, comments and plain words do not count; 64 levels are read.
  EXPECT_NE(config_error("name: \"" + std::string(200, '[') + "\"\nseed: 1 # " + std::string(200, '{') + "\n"), "accepted");
  EXPECT_EQ(config_error("name: \"" + std::string(200, '[') + "\"\nseed: 1 # " + std::string(200, '{') + "\n")
                .find("nested deeper"),
            std::string::npos);
  EXPECT_EQ(config_error("name: x\nseed: 1\nsweep: " + std::string(64, '[') + std::string(64, ']') + "\n").find("nested deeper"),
            std::string::npos);
  EXPECT_NE(config_error("name: x\nseed: 1\n", {"model.hidden=" + std::string(5000, '[')}).find("nested deeper than carve reads"),
            std::string::npos);
}

}  // namespace
}  // namespace carve

namespace carve {
namespace {

// A typo inside a suite's `set` or `sweep` is located at its key like any other key, and split
// sizes the data cannot give are caught by `carve check`, at the file's data keys, from the
// files' sizes.
TEST(ExperimentCli, SuiteTyposAndSplitSizesAreLocated) {
  testing::TempDir dir;
  testing::write_toy_amat(dir, "toy.amat", 200);
  const auto base = testing::toy_base(dir, "located");
  dir.write("set.yaml", base + "suite:\n  runs:\n    - name: A\n      set: {optimizer.lrr: 0.1}\n");
  dir.write("sweep.yaml", base + "suite:\n  runs:\n    - name: A\n    - name: B\n      sweep: {model.hiden: [3, 4]}\n");
  const auto set = testing::run_carve("check '" + dir.file("set.yaml") + "'");
  EXPECT_EQ(set.exit_code, 2);
  EXPECT_EQ(testing::count_lines(set.err), 1u) << set.err;
  EXPECT_NE(set.err.find(dir.file("set.yaml") + ":11:13: unknown key 'lrr' in optimizer (did you mean 'lr'?) (suite run 'A')"),
            std::string::npos)
      << set.err;
  const auto sweep = testing::run_carve("check '" + dir.file("sweep.yaml") + "'");
  EXPECT_EQ(sweep.exit_code, 2);
  EXPECT_NE(sweep.err.find(dir.file("sweep.yaml") + ":12:15: unknown key 'hiden' in model (did you mean 'hidden'?)"),
            std::string::npos)
      << sweep.err;

  // 200 examples, valid 40 and test 40 carved: train 150 is too many, valid 170 + test 40 leave none.
  const auto misfit = [&](const std::string& extra) { return testing::run_carve("check '" + dir.file("fit.yaml") + "' " + extra); };
  dir.write("fit.yaml", base);
  const auto fits = misfit("");
  EXPECT_EQ(fits.exit_code, 0) << fits.err;
  const auto train = misfit("--set data.train=150");
  EXPECT_EQ(train.exit_code, 2);
  EXPECT_NE(train.err.find(dir.file("fit.yaml") + ":4:"), std::string::npos) << train.err;
  EXPECT_NE(train.err.find("train (150) is more than the 120 examples available"), std::string::npos) << train.err;
  const auto none = misfit("--set data.valid=170");
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("valid (170) and test (40) leave no training examples out of 200"), std::string::npos) << none.err;
}

}  // namespace
}  // namespace carve
