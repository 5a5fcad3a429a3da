#include "carve/nn/activation.h"

#include <gtest/gtest.h>

#include "carve/error.h"

namespace carve {
namespace {

TEST(Activation, ParsesEveryNameAndRoundTrips) {
  for (const auto& name : activation_names()) EXPECT_EQ(to_string(parse_activation(name)), name);
}

TEST(Activation, UnknownNameListsKnownOnes) {
  try {
    parse_activation("sigmod");
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'sigmod'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("softplus"), std::string::npos) << msg;
  }
}

// f'(a) written through h = f(a) must equal autograd's derivative of f at a, in float64.
TEST(Activation, DerivativeFromOutputMatchesAutograd) {
  auto a = torch::linspace(-6, 6, 241, torch::kFloat64);
  a = a.index({a.abs() > 1e-9});  // relu has no derivative at 0
  for (const auto& name : activation_names()) {
    const auto act = parse_activation(name);
    auto leaf = a.clone().requires_grad_(true);
    const auto h = activate(act, leaf);
    const auto expected = torch::autograd::grad({h.sum()}, {leaf})[0];
    const auto got = derivative_from_output(act, h.detach());
    EXPECT_TRUE(torch::allclose(got, expected, 1e-12, 1e-13)) << name;
  }
}

}  // namespace
}  // namespace carve
