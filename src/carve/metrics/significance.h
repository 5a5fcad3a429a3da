/// Significance of differences in test error, as the paper's tables mark them (issue 16).
///
/// wilson_interval: the 95% confidence interval of an error rate of `errors` out of `n` test
/// examples (Wilson's score interval: unlike the normal approximation it stays inside [0, 1] and
/// is sound for the small error counts of MNIST-size test sets).
/// mcnemar_p: McNemar's exact test of two classifiers on the same examples: of the examples on
/// which exactly one is wrong, `only_a` are wrong for A and `only_b` for B; under the hypothesis
/// of equal error rates each such example goes either way with probability 1/2, and the two-sided
/// p-value is 2 P(X <= min(only_a, only_b)), X ~ Binomial(only_a + only_b, 1/2), capped at 1.
///
///   auto ci = carve::wilson_interval(114, 10000);   // {0.00950, 0.01368}
///   double p = carve::mcnemar_p(40, 62);             // 0.037
#pragma once

#include <cstdint>

namespace carve {

/// A confidence interval [low, high] of a proportion.
struct Interval {
  double low = 0, high = 0;
};

/// The Wilson score interval of errors / n at the normal quantile z (1.959964: 95%); [0, 1] for n = 0.
Interval wilson_interval(int64_t errors, int64_t n, double z = 1.959963984540054);

/// McNemar's exact two-sided p-value (1 when the classifiers never disagree).
double mcnemar_p(int64_t only_a, int64_t only_b);

}  // namespace carve
