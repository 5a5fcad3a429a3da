// The `carve` command from the outside: exit codes, one-line errors, the JSON contract.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/run_command.h"

namespace carve {
namespace {

using testing::count_lines;
using testing::run_carve;

struct BadInput {
  std::string args;
  std::string must_mention;
};

class CliBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(CliBadInput, OneClearLineAndExitCodeTwo) {
  const auto& c = GetParam();
  const auto r = run_carve(c.args);
  EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.err;
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find(c.must_mention), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("frame #"), std::string::npos) << "backtrace leaked: " << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

INSTANTIATE_TEST_SUITE_P(
    PenaltyCompare, CliBadInput,
    ::testing::Values(BadInput{"penalty compare --activation sigmod", "'sigmod'"},
                      BadInput{"penalty compare --inputs 0", "--inputs must be a positive integer, got 0"},
                      BadInput{"penalty compare --hidden -3", "-3"},
                      BadInput{"penalty compare --layers 0", "--layers"},
                      BadInput{"penalty compare --batch abc", "abc"},
                      BadInput{"penalty compare --bogus", "--bogus"},
                      BadInput{"penalty compare --dtype float16", "'float16'"},
                      BadInput{"penalty compare --projection uniform", "'uniform'"},
                      BadInput{"penalty compare --mode sideways", "'sideways'"},
                      BadInput{"penalty compare --format xml", "'xml'"},
                      BadInput{"penalty compare --device tpu", "'tpu'"},
                      BadInput{"penalty frobnicate", "frobnicate"},
                      BadInput{"--threads -1 penalty compare", "-1"}));

// Flag ranges read plainly (CLI11's own range check printed the largest double, 300 digits).
INSTANTIATE_TEST_SUITE_P(
    RunFlags, CliBadInput,
    ::testing::Values(BadInput{"run x.yaml --jobs 0", "--jobs: must be a whole number >= 1, got '0'"},
                      BadInput{"run x.yaml --max-requeues -1", "--max-requeues: must be a whole number >= 0, got '-1'"},
                      BadInput{"submit x.yaml --slurm --cpus-per-task 0", "--cpus-per-task: must be a whole number >= 1"}));

TEST(Cli, NoSubcommandIsAUsageError) {
  const auto r = run_carve("");
  EXPECT_EQ(r.exit_code, 2);
}

TEST(Cli, HelpAndVersionExitZero) {
  EXPECT_EQ(run_carve("--help").exit_code, 0);
  const auto v = run_carve("--version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("carve "), std::string::npos);
}

TEST(Cli, CudaWithoutCudaIsAUsageError) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "CUDA is available here";
  const auto r = run_carve("penalty compare --device cuda --inputs 4 --hidden 3 --batch 2");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("CUDA is not available"), std::string::npos) << r.err;
}

TEST(Cli, PenaltyCompareJsonShowsAnalyticAndExactAgreeing) {
  for (const std::string extra : {"--layers 1 --tied", "--layers 2 --untied --activation tanh"}) {
    const auto r = run_carve("penalty compare --format json --inputs 20 --hidden 15 --batch 8 "
                             "--dtype float64 --repeats 1 --projections 4 " + extra);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    for (const char* m : {"analytic", "exact", "stochastic"}) {
      ASSERT_TRUE(j["methods"].contains(m)) << m;
      for (const char* k : {"value", "value_rel_err", "grad_rel_err", "ms"}) {
        EXPECT_TRUE(j["methods"][m].contains(k)) << m << "." << k;
      }
    }
    EXPECT_TRUE(j["methods"]["stochastic"]["stderr"].is_number());
    EXPECT_LE(j["methods"]["analytic"]["value_rel_err"].get<double>(), 1e-10);
    EXPECT_LE(j["methods"]["analytic"]["grad_rel_err"].get<double>(), 1e-8);
    EXPECT_EQ(j["methods"]["exact"]["value_rel_err"].get<double>(), 0.0);
    EXPECT_EQ(j["config"]["inputs"].get<int>(), 20);
    EXPECT_EQ(j["config"]["dtype"].get<std::string>(), "float64");
  }
}

TEST(Cli, PenaltyCompareTableNamesEveryMethod) {
  const auto r = run_carve("penalty compare --inputs 10 --hidden 6 --batch 4 --repeats 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* m : {"analytic", "exact", "stochastic", "value rel.err", "grad rel.err"}) {
    EXPECT_NE(r.out.find(m), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace carve
