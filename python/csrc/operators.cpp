// The carve_ops shared library: carve's penalties as PyTorch operators, torch.ops.carve.*.
// Loading it (torch.ops.load_library in Python, which python/carve does; dlopen or linking in
// C++) registers them for eager code and TorchScript alike. The kernels are composite (built from
// differentiable ATen operations), so autograd and every device come from the operations they
// call. Schemas and kernels: carve/export/operators.h; reference: docs/OPERATORS.md.
#include <torch/library.h>

#include "carve/export/operators.h"

// The schemas are the reference of docs/OPERATORS.md.
TORCH_LIBRARY(carve, m) {
  m.def("contractive_analytic(Tensor x, Tensor[] weights, Tensor[] biases, str[] activations) -> Tensor",
        &carve::ops::contractive_analytic);
  m.def("contractive_exact(Tensor x, Tensor h, str mode=\"auto\") -> Tensor", &carve::ops::contractive_exact);
  m.def("contractive_exact_layers(Tensor x, Tensor[] weights, Tensor[] biases, str[] activations, "
        "str mode=\"auto\") -> Tensor",
        &carve::ops::contractive_exact_layers);
  m.def("contractive_stochastic(Tensor x, Tensor h, int projections=1, str projection=\"gaussian\") "
        "-> (Tensor value, Tensor standard_error)",
        &carve::ops::contractive_stochastic);
  m.def("higher_order_analytic(Tensor x, Tensor x_tilde, Tensor[] weights, Tensor[] biases, str[] activations) "
        "-> Tensor",
        &carve::ops::higher_order_analytic);
  m.def("higher_order_exact(Tensor x, Tensor h, Tensor x_tilde, Tensor h_tilde, str mode=\"auto\") -> Tensor",
        &carve::ops::higher_order_exact);
}
