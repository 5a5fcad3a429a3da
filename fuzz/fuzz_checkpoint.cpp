// Checkpoint loading: carve's container (header, version, size, checksum). The checksum is
// verified before LibTorch's archive reader sees a byte, which is the fence around that
// third-party parser: a damaged or forged-by-accident file never reaches it (docs/FUZZING.md).
#include "carve/train/checkpoint.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  carve::fuzz::warm_up();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = carve::fuzz::write_input("checkpoint.pt", data, size);
  carve::fuzz::expect_carve_errors_only([&] {
    torch::serialize::InputArchive archive;
    carve::load_checkpoint_archive(path, archive);
  });
  return 0;
}
