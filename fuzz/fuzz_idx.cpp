// The IDX reader, plain and gzip-compressed (read by content: a gzip header means gzip).
#include "carve/data/idx.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  carve::fuzz::warm_up();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = carve::fuzz::write_input(size % 2 ? "images-idx3-ubyte.gz" : "images-idx3-ubyte", data, size);
  carve::fuzz::expect_carve_errors_only([&] { carve::read_idx(path); });
  return 0;
}
