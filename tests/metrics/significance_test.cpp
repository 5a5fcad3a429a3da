// Significance of test-error differences (issue 16): Wilson intervals and McNemar's exact test
// against values computed by hand (exact fractions where there are some).
#include "carve/metrics/significance.h"

#include <gtest/gtest.h>

#include <cmath>

namespace carve {
namespace {

TEST(Significance, WilsonIntervalMatchesTheFormula) {
  // 10 errors of 100, z = 1.96: centre (0.1 + z²/200) / (1 + z²/100) = 0.11478..., half-width
  // z / (1 + z²/100) sqrt(0.09/100 + z²/40000) = 0.05957...
  const auto ci = wilson_interval(10, 100);
  EXPECT_NEAR(ci.low, 0.0552291370606751, 1e-12);
  EXPECT_NEAR(ci.high, 0.17436566150491345, 1e-12);
  // The paper's CAE error on MNIST's 10,000 test digits, 1.14%.
  const auto cae = wilson_interval(114, 10000);
  EXPECT_NEAR(cae.low, 0.009498871053053342, 1e-12);
  EXPECT_NEAR(cae.high, 0.013676372154771826, 1e-12);
  // No error: the interval starts at 0 and still has width (1 - 0 errors is not certainty).
  const auto none = wilson_interval(0, 50);
  EXPECT_EQ(none.low, 0.0);
  EXPECT_NEAR(none.high, 0.07134759913335872, 1e-12);
  const auto all = wilson_interval(50, 50);
  EXPECT_EQ(all.high, 1.0);
  EXPECT_NEAR(all.low, 1 - 0.07134759913335872, 1e-12);
  const auto empty = wilson_interval(0, 0);
  EXPECT_EQ(empty.low, 0.0);
  EXPECT_EQ(empty.high, 1.0);
  EXPECT_THROW(wilson_interval(3, 2), c10::Error);
}

TEST(Significance, McNemarExactTestMatchesTheBinomialTail) {
  // 1 against 9 discordant examples: 2 P(X <= 1), X ~ B(10, 1/2) = 2 (1 + 10) / 1024.
  EXPECT_NEAR(mcnemar_p(1, 9), 22.0 / 1024, 1e-15);
  EXPECT_NEAR(mcnemar_p(9, 1), 22.0 / 1024, 1e-15);
  EXPECT_NEAR(mcnemar_p(0, 3), 2.0 / 8, 1e-15);
  EXPECT_DOUBLE_EQ(mcnemar_p(5, 5), 1.0);  // 2 P(X <= 5) > 1: capped
  EXPECT_DOUBLE_EQ(mcnemar_p(0, 0), 1.0);
  // Larger counts (exact values from Python's integer arithmetic); the tail is summed in log space,
  // so agreement is to rounding, not to the bit.
  EXPECT_NEAR(mcnemar_p(40, 62), 0.037066767438560536, 1e-12);
  EXPECT_NEAR(mcnemar_p(300, 380), 0.0024248687076998945, 1e-12);
  EXPECT_LT(mcnemar_p(1000, 2000), 1e-70);
  EXPECT_THROW(mcnemar_p(-1, 2), c10::Error);
}

}  // namespace
}  // namespace carve
