// Shared numerical gradient checker (in the spirit of Flashlight's jacobianTestImpl and mlpack's
// gradient tests): compares autograd gradients of a scalar function of some parameters with
// central differences and reports the relative error ||g - g_num|| / ||g + g_num||.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <vector>

namespace carve::testing {

struct GradCheckResult {
  double relative_error = 0;  // ||g - g_num|| / ||g + g_num|| over all parameters together
  double autograd_norm = 0;
};

// `loss` must recompute the scalar from the live parameters each time it is called. Parameters
// are perturbed in place (under NoGradGuard) and restored.
inline GradCheckResult gradient_check(const std::function<torch::Tensor()>& loss,
                                      const std::vector<torch::Tensor>& params,
                                      double eps = 1e-6) {
  auto grads = torch::autograd::grad({loss()}, params, {}, false, false, true);
  double diff2 = 0, sum2 = 0, norm2 = 0;
  for (size_t p = 0; p < params.size(); ++p) {
    auto g = grads[p].defined() ? grads[p].detach() : torch::zeros_like(params[p]);
    auto numeric = torch::zeros_like(g);
    auto flat = params[p].detach().view(-1);
    auto num_flat = numeric.view(-1);
    for (int64_t i = 0; i < flat.numel(); ++i) {
      double saved;
      {
        torch::NoGradGuard no_grad;
        saved = flat[i].item<double>();
        flat[i].fill_(saved + eps);
      }
      const double up = loss().item<double>();
      {
        torch::NoGradGuard no_grad;
        flat[i].fill_(saved - eps);
      }
      const double down = loss().item<double>();
      {
        torch::NoGradGuard no_grad;
        flat[i].fill_(saved);
      }
      num_flat[i] = (up - down) / (2 * eps);
    }
    diff2 += (g - numeric).pow(2).sum().item<double>();
    sum2 += (g + numeric).pow(2).sum().item<double>();
    norm2 += g.pow(2).sum().item<double>();
  }
  return {sum2 > 0 ? std::sqrt(diff2 / sum2) : std::sqrt(diff2), std::sqrt(norm2)};
}

// ||a - b|| / ||b|| (or ||a|| when b is zero).
inline double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  const double ref = b.norm().item<double>();
  const double diff = (a - b).norm().item<double>();
  return ref > 0 ? diff / ref : diff;
}

}  // namespace carve::testing
