// The fused fine-tuning step (see the header). With h_0 = x, a_l = h_{l-1} W_lᵀ + b_l,
// h_l = f_l(a_l) for the L hidden layers, Z = h_L Vᵀ + c and B examples of classes y:
//   loss = −mean_b log softmax(Z)[b, y_b]
//   dZ   = softmax(Z) − onehot(y), over B        (log-softmax's backward of nll_loss's)
//   dV   = dZᵀ h_L,  dc = Σ_b dZ
//   dh_L = dZ V;  dA_l = dh_l f_l'(a_l);  dW_l = dA_lᵀ h_{l−1},  db_l = Σ_b dA_l;
//   dh_{l−1} = dA_l W_l  (l > 1 only: no input gradient)
// Each product is the one autograd's addmm backward makes at the same shapes (mm_mat2_backward
// of a transposed weight computes dZᵀ h, its mm_mat1_backward dZ V), so the two agree bit for bit
// where the BLAS is deterministic.
#include "carve/train/fused_finetune.h"

#include "carve/train/trainer.h"

namespace carve {

namespace {

// dh f'(a) written over dh, by the kernel autograd's backward of f calls (from f's output h,
// or from its input a for softplus).
void through_activation(Activation act, torch::Tensor& dh, const torch::Tensor& h, const torch::Tensor& a) {
  switch (act) {
    case Activation::sigmoid: at::sigmoid_backward_out(dh, dh, h); return;
    case Activation::tanh: at::tanh_backward_out(dh, dh, h); return;
    case Activation::softplus: at::softplus_backward_out(dh, dh, a, 1, 20); return;  // torch::softplus's defaults
    case Activation::relu: at::threshold_backward_out(dh, dh, h, 0); return;
    case Activation::linear: return;
  }
  TORCH_CHECK(false, "unhandled activation");
}

}  // namespace

torch::Tensor FusedMlpStep::compute_gradients(const std::vector<AffineLayer>& hidden, const torch::Tensor& out_w,
                                              const torch::Tensor& out_b, const torch::Tensor& x,
                                              const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  const int64_t b = x.size(0), layers = static_cast<int64_t>(hidden.size());
  h_.resize(hidden.size()), a_.resize(hidden.size()), dh_.resize(hidden.size());

  // Forward, each layer's output into its kept buffer.
  std::vector<torch::Tensor> h(hidden.size()), a(hidden.size());
  torch::Tensor in = x;
  for (int64_t l = 0; l < layers; ++l) {
    const auto& layer = hidden[l];
    h[l] = rows_of(h_[l], b, layer.weight.size(0), x);
    if (layer.activation == Activation::softplus) {
      a[l] = rows_of(a_[l], b, layer.weight.size(0), x);
      at::addmm_out(a[l], layer.bias, in, layer.weight.t());
      at::softplus_out(h[l], a[l], 1, 20);
    } else {
      activate_(layer.activation, at::addmm_out(h[l], layer.bias, in, layer.weight.t()));
    }
    in = h[l];
  }
  const int64_t classes = out_w.size(0);
  auto z = rows_of(logits_, b, classes, x);
  at::addmm_out(z, out_b, in, out_w.t());

  // The loss and dZ, as cross_entropy's forward (log-softmax, then nll_loss) and its backward.
  auto log_probs = rows_of(log_probs_, b, classes, x);
  at::_log_softmax_out(log_probs, z, 1, false);
  const auto nll = at::nll_loss_forward(log_probs, y, {}, at::Reduction::Mean, -100);
  if (!one_.defined() || one_.dtype() != x.dtype() || one_.device() != x.device()) one_ = torch::ones({}, x.options());
  auto d_log_probs = rows_of(d_log_probs_, b, classes, x);
  at::nll_loss_backward_out(d_log_probs, one_, log_probs, y, {}, at::Reduction::Mean, -100, std::get<1>(nll));
  auto dz = rows_of(d_logits_, b, classes, x);
  at::_log_softmax_backward_data_out(dz, d_log_probs, log_probs, 1, x.scalar_type());

  // The output layer's gradients.
  auto v = out_w, c = out_b;
  at::mm_out(gradient_storage(v), dz.t(), in);
  at::sum_out(gradient_storage(c), dz, 0);

  // Back through the hidden layers, when they train.
  if (train_hidden_) {
    torch::Tensor grad = dz, weight = out_w;
    for (int64_t l = layers - 1; l >= 0; --l) {
      auto dh = rows_of(dh_[l], b, hidden[l].weight.size(0), x);
      at::mm_out(dh, grad, weight);
      through_activation(hidden[l].activation, dh, h[l], a[l]);
      auto w = hidden[l].weight, bias = hidden[l].bias;
      at::mm_out(gradient_storage(w), dh.t(), l > 0 ? h[l - 1] : x);
      at::sum_out(gradient_storage(bias), dh, 0);
      grad = dh, weight = hidden[l].weight;
    }
  }
  return std::get<0>(nll);
}

}  // namespace carve
