// One CIFAR-10 binary batch file.
#include "carve/data/cifar.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  carve::fuzz::warm_up();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = carve::fuzz::write_input("data_batch_1.bin", data, size);
  carve::fuzz::expect_carve_errors_only([&] { carve::load_cifar10_batch(path); });
  return 0;
}
