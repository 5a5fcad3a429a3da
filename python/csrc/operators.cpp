// The carve_ops shared library: carve's penalties as PyTorch operators, torch.ops.carve.*.
// Loading it (torch.ops.load_library in Python, which python/carve does; dlopen or linking in
// C++) registers them for eager code and TorchScript alike. The kernels are composite (built from
// differentiable ATen operations), so autograd and every device come from the operations they
// call. Schemas and kernels: carve/export/operators.h; reference: docs/OPERATORS.md.
#include <torch/library.h>

#include "carve/export/operators.h"

TORCH_LIBRARY(carve, m) {
  const auto& schemas = carve::ops::operator_schemas();
  m.def(schemas.at(0).c_str(), &carve::ops::contractive_analytic);
  m.def(schemas.at(1).c_str(), &carve::ops::contractive_exact);
  m.def(schemas.at(2).c_str(), &carve::ops::contractive_stochastic);
  m.def(schemas.at(3).c_str(), &carve::ops::higher_order_analytic);
  m.def(schemas.at(4).c_str(), &carve::ops::higher_order_exact);
}
