// The log partition function of an RBM, log Z = log sum_v sum_h exp(-E(v, h)):
//
//   exact   by enumerating the 2^H hidden configurations (H <= 20), the visible units summed
//           (binary) or integrated (Gaussian) in closed form;
//   AIS     annealed importance sampling (Salakhutdinov & Murray, ICML 2008) from the base
//           model with zero weights and hidden biases and the target's visible biases (its
//           log Z in closed form), through the RBMs
//           with parameters (beta W, beta c, b) at `betas` uniformly spaced inverse temperatures,
//           `runs` independent chains. The estimate is log Z_A + log mean(w); its standard error
//           std(w) / (sqrt(runs) mean(w)) by the delta method.
//
// Both compute in float64. The average log-likelihood of data is mean(-F(v)) - log Z.
//
//   auto ais = carve::ais_log_partition(*rbm, 100, 10000);
//   double ll = carve::average_log_likelihood(*rbm, test_v, ais.log_z);
#pragma once

#include <torch/torch.h>

#include "carve/models/rbm.h"

namespace carve {

/// log Z exactly, by enumeration (hidden <= 20).
double exact_log_partition(const RBMImpl& rbm);

/// AIS's estimate of log Z, its standard error and its settings.
struct AISResult {
  double log_z = 0;
  double standard_error = 0;
  int64_t runs = 0, betas = 0;
};

/// log Z by AIS; the average log-likelihood of the rows of v given log Z.
AISResult ais_log_partition(const RBMImpl& rbm, int64_t runs = 100, int64_t betas = 10000);
double average_log_likelihood(const RBMImpl& rbm, const torch::Tensor& v, double log_z);

}  // namespace carve
