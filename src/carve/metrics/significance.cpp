#include "carve/metrics/significance.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>

namespace carve {

Interval wilson_interval(int64_t errors, int64_t n, double z) {
  TORCH_CHECK(errors >= 0 && errors <= n, "wilson_interval: need 0 <= errors <= n, got ", errors, " of ", n);
  if (n == 0) return {0, 1};
  const double nn = static_cast<double>(n), p = static_cast<double>(errors) / nn, z2 = z * z;
  const double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
  const double half = z / (1 + z2 / nn) * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

double mcnemar_p(int64_t only_a, int64_t only_b) {
  TORCH_CHECK(only_a >= 0 && only_b >= 0, "mcnemar_p: counts must be >= 0, got ", only_a, " and ", only_b);
  const int64_t n = only_a + only_b, k = std::min(only_a, only_b);
  if (n == 0) return 1.0;
  // P(X <= k) for X ~ Binomial(n, 1/2), summed in log space (n may be thousands).
  const double log_half_n = static_cast<double>(n) * std::log(0.5);
  double tail = 0;
  for (int64_t i = 0; i <= k; ++i) {
    const double log_choose = std::lgamma(static_cast<double>(n) + 1) - std::lgamma(static_cast<double>(i) + 1) -
                              std::lgamma(static_cast<double>(n - i) + 1);
    tail += std::exp(log_choose + log_half_n);
  }
  return std::min(1.0, 2 * tail);
}

}  // namespace carve
