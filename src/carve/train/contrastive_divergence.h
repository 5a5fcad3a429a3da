// Contrastive divergence (Hinton 2002) and persistent CD (Tieleman 2008) for carve::RBM.
//
// accumulate() writes into each parameter's .grad the estimate of the negative log-likelihood
// gradient for a batch v0, so that any torch optimizer (SGD with momentum, weight decay through
// the optimizer) takes the step:
//   dW = -(<h v^T>_data - <h v^T>_model)   with <.>_data from p(h | v0) and <.>_model from the
//   end of k Gibbs steps, started at v0 (CD-k) or at persistent chains (PCD-k).
// The chains use torch's global generator (through carve::sample_bernoulli), so a seeded run is
// reproducible. A step is the products it needs and little else (issue 17, point 2): p(h | v0) and
// p(h | vk) are written into one [h0; hk] buffer, v0 and vk into one [v0; vk] buffer, each scaled
// in place by its phase's sign and 1/rows, and the weight gradient is one product of the two
// written into the gradient's own storage; CD-k's first hidden sample reuses p(h | v0). Monitoring
// (reconstruction, likelihoods) is not part of it: the trainer measures it once an epoch.
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
  void accumulate(RBMImpl& rbm, const torch::Tensor& v0);
  // The persistent chains (undefined before the first PCD batch), for checkpoints: a view into
  // the step's buffers, so clone it to keep it past the next accumulate().
  const torch::Tensor& chains() const { return chains_; }
  void set_chains(torch::Tensor chains) { chains_ = std::move(chains); }
  const CDOptions& options() const { return options_; }

 private:
  CDOptions options_;
  torch::Tensor chains_;
  torch::Tensor hidden_, visible_;  // [h0; hk] and [v0; vk], reused while the batch's shape holds
};

}  // namespace carve
