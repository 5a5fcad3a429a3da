// The paper's geometric measurements of an encoder (Rifai et al. 2011, section 5):
//
//   contraction ratio  mean over points x0 of ||f(x1) - f(x0)|| / ||x1 - x0||, x1 = x0 + r u with
//                      u uniform on the unit sphere, as a function of the radius r; computed for
//                      every layer of an encoder (a stack's intermediate codes too);
//   Jacobian spectrum  the singular values of J_f(x) at each point, sorted, averaged over the
//                      points, and how many exceed 1% of the largest (the local dimension the
//                      encoder keeps);
//   activations        a histogram of the hidden activations, and the saturation.
//
//   torch::manual_seed(0);
//   auto c = carve::contraction_curve(*ae, x0, {0.5, 1, 2, 4, 8});
//   auto s = carve::jacobian_spectrum(*ae, x0);        // exact (autograd) Jacobians
#pragma once

#include <torch/torch.h>

#include <vector>

#include "carve/nn/encoder.h"

namespace carve {

/// The contraction curve: per layer, the mean ratio at each radius.
struct ContractionCurve {
  std::vector<double> radii;
  std::vector<std::vector<double>> ratio;  // [layer][radius]
};

// The same directions u serve every radius (one per point, from torch's global generator).
ContractionCurve contraction_curve(Encoder& encoder, const torch::Tensor& x0, const std::vector<double>& radii);

/// Where a spectrum's Jacobians come from: autograd or the closed form.
enum class JacobianSource { exact, analytic };

/// Singular values of J_f(x) at a set of points.
struct Spectrum {
  torch::Tensor values;       // [N, k] per point, descending, k = min(inputs, code)
  torch::Tensor mean;         // [k]
  double mean_count_above = 0;  // mean over points of #{sigma_i > rel * sigma_1}
  double relative = 0.01;
};

/// The spectrum of the encoder's Jacobian at the points x.
Spectrum jacobian_spectrum(Encoder& encoder, const torch::Tensor& x, JacobianSource source = JacobianSource::exact,
                           double relative = 0.01);

/// Counts of values in equal bins.
struct Histogram {
  std::vector<double> edges;   // bins + 1
  std::vector<int64_t> counts;
};

// Histogram of every hidden activation of the code for x.
Histogram activation_histogram(Encoder& encoder, const torch::Tensor& x, int64_t bins = 50);

}  // namespace carve
