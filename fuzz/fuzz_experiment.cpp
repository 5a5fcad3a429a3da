// The experiment reader on a whole YAML file: the spec, its suite and stack blocks, its plan.
#include "carve/config/experiment.h"
#include "carve/config/stack.h"
#include "carve/config/suite.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  carve::fuzz::warm_up();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = carve::fuzz::write_input("experiment.yaml", data, size);
  carve::fuzz::expect_carve_errors_only([&] { carve::load_experiment(path); });
  carve::fuzz::expect_carve_errors_only([&] { carve::load_suite(path); });
  carve::fuzz::expect_carve_errors_only([&] { carve::load_stack(path); });
  return 0;
}
