#include "carve/metrics/geometry.h"

#include "carve/penalty/jacobian.h"

namespace carve {

ContractionCurve contraction_curve(Encoder& encoder, const torch::Tensor& x0, const std::vector<double>& radii) {
  torch::NoGradGuard no_grad;
  auto u = torch::randn_like(x0);
  u = u / u.norm(2, {1}, true);
  const auto h0 = encoder.encode_layers(x0);
  ContractionCurve c{radii, std::vector<std::vector<double>>(h0.size())};
  for (double r : radii) {
    const auto h1 = encoder.encode_layers(x0 + r * u);
    for (size_t l = 0; l < h0.size(); ++l) {
      c.ratio[l].push_back(((h1[l] - h0[l]).norm(2, {1}) / r).mean().item<double>());
    }
  }
  return c;
}

Spectrum jacobian_spectrum(Encoder& encoder, const torch::Tensor& x, JacobianSource source, double relative) {
  std::vector<torch::Tensor> parts;
  // A few points at a time: J is [points, code, inputs].
  const int64_t chunk = std::max<int64_t>(1, (int64_t(64) << 20) / std::max<int64_t>(1, encoder.code_size() * x.size(1) * 4));
  for (int64_t i = 0; i < x.size(0); i += chunk) {
    const auto xi = x.slice(0, i, i + chunk);
    torch::Tensor J;
    if (source == JacobianSource::analytic) {
      torch::NoGradGuard no_grad;
      J = analytic_jacobian(encoder.affine_layers(), encoder.encode_layers(xi));
    } else {
      J = exact_jacobian([&](const torch::Tensor& v) { return encoder.code(v); }, xi, encoder.code_size(),
                         ExactJacobianOptions().create_graph(false));
    }
    parts.push_back(torch::linalg_svdvals(J.detach().to(torch::kFloat64)));
  }
  Spectrum s;
  s.values = torch::cat(parts);
  s.mean = s.values.mean(0);
  s.relative = relative;
  const auto top = s.values.select(1, 0).unsqueeze(1);
  s.mean_count_above = (s.values > relative * top).to(torch::kFloat64).sum(1).mean().item<double>();
  return s;
}

Histogram activation_histogram(Encoder& encoder, const torch::Tensor& x, int64_t bins) {
  torch::NoGradGuard no_grad;
  const auto h = encoder.code(x).to(torch::kFloat64).flatten();
  double lo = h.min().item<double>(), hi = h.max().item<double>();
  // Bounded activations keep their natural range so that histograms of runs compare.
  if (lo >= 0 && hi <= 1) lo = 0, hi = 1;
  else if (lo >= -1 && hi <= 1) lo = -1, hi = 1;
  if (hi <= lo) hi = lo + 1;
  const auto counts = torch::histc(h, bins, lo, hi).to(torch::kInt64);
  Histogram out;
  for (int64_t i = 0; i <= bins; ++i) out.edges.push_back(lo + (hi - lo) * i / bins);
  for (int64_t i = 0; i < bins; ++i) out.counts.push_back(counts[i].item<int64_t>());
  return out;
}

}  // namespace carve
