// Contrastive divergence (Hinton 2002) and persistent CD (Tieleman 2008) for carve::RBM.
//
// accumulate() writes into each parameter's .grad the estimate of the negative log-likelihood
// gradient for a batch v0, so that any torch optimizer (SGD with momentum, weight decay through
// the optimizer) takes the step:
//   dW = -(<h v^T>_data - <h v^T>_model)   with <.>_data from p(h | v0) and <.>_model from the
//   end of k Gibbs steps, started at v0 (CD-k) or at persistent chains (PCD-k).
// The chains use torch's global generator, so a seeded run is reproducible.
//
//   carve::ContrastiveDivergence cd(carve::CDOptions().k(1).persistent(true));
//   cd.accumulate(*rbm, v0);  optimizer.step();
#pragma once

#include <torch/torch.h>

#include "carve/models/rbm.h"

namespace carve {

/// Options of contrastive divergence: Gibbs steps, persistent chains (PCD) and their number.
struct CDOptions {
  TORCH_ARG(int64_t, k) = 1;
  TORCH_ARG(bool, persistent) = false;
  // PCD: number of persistent chains (0: one per example of the first batch).
  TORCH_ARG(int64_t, chains) = 0;
};

/// CD-k or PCD: accumulates an RBM's gradient into its parameters' .grad, keeping PCD's chains.
class ContrastiveDivergence {
 public:
  explicit ContrastiveDivergence(CDOptions options = {});
  // Returns p(h = 1 | v0), the positive phase, for monitoring without another pass.
  torch::Tensor accumulate(RBMImpl& rbm, const torch::Tensor& v0);
  // The persistent chains (undefined before the first PCD batch), for checkpoints.
  const torch::Tensor& chains() const { return chains_; }
  void set_chains(torch::Tensor chains) { chains_ = std::move(chains); }
  const CDOptions& options() const { return options_; }

 private:
  CDOptions options_;
  torch::Tensor chains_;
};

}  // namespace carve
