// The roofline of a bench: only the products a step requires, each timed alone, measured twice
// around what it is compared with.
#include <gtest/gtest.h>

#include "carve/bench/measure.h"

namespace carve::bench {
namespace {

TEST(Roofline, SumsItsProductsByCountAndReportsTheirRateChange) {
  const auto a = torch::rand({20, 30}), b = torch::rand({30, 40}), c = torch::rand({40, 30});
  Roofline r({{"a b", a, b, 3}, {"(a b) c", torch::rand({20, 40}), c}}, 5, torch::kCPU);
  r.before();
  r.after();
  const auto j = r.to_json();
  ASSERT_EQ(j["products"].size(), 2u);
  EXPECT_EQ(j["products"][0]["count"], 3);
  EXPECT_EQ(j["products"][1]["name"], "(a b) c");
  const double sum = 3 * j["products"][0]["ms"].get<double>() + j["products"][1]["ms"].get<double>();
  EXPECT_NEAR(j["ms"].get<double>(), sum, 1e-12);
  EXPECT_DOUBLE_EQ(r.ms(), j["ms"].get<double>());
  EXPECT_GE(j["rate_change"].get<double>(), 0.0);
  EXPECT_EQ(j["discarded"].get<bool>(), j["rate_change"].get<double>() > 0.10);
  // A transposed view is a product's operand as it is (no copy): the output has the product's shape.
  Roofline t({{"a^T a", a.t(), a}}, 2, torch::kCPU);
  t.before();
  EXPECT_EQ(t.to_json()["products"][0]["count"], 1);
  EXPECT_GT(t.ms(), 0.0);
}

}  // namespace
}  // namespace carve::bench
