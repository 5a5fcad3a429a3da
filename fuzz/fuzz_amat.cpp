// The .amat reader (the variations benchmark's text format).
#include "carve/data/amat.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  carve::fuzz::warm_up();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = carve::fuzz::write_input("input.amat", data, size);
  carve::fuzz::expect_carve_errors_only([&] { carve::load_amat(path); });
  return 0;
}
