// `--set` values: each line of the input is one key=value applied to a valid experiment file.
#include <sstream>
#include <vector>

#include "carve/config/experiment.h"
#include "fuzz_common.h"

namespace {
std::string base_file;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  carve::fuzz::warm_up();
  const std::string yaml =
      "name: fuzz\nseed: 1\ndata: {dataset: mnist, valid: 100, test: 100}\nmodel: {hidden: 10}\n"
      "regularizers: {contractive: {weight: 0.1}}\ntraining: {epochs: 1, batch_size: 10}\n"
      "finetune: {epochs: 1}\nsweep: {optimizer.lr: [0.01, 0.1]}\n";
  base_file = carve::fuzz::write_input("base.yaml", reinterpret_cast<const uint8_t*>(yaml.data()), yaml.size());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> overrides;
  std::istringstream lines(std::string(reinterpret_cast<const char*>(data), size));
  for (std::string line; std::getline(lines, line) && overrides.size() < 8;) overrides.push_back(line);
  carve::fuzz::expect_carve_errors_only([&] { carve::load_experiment(base_file, overrides); });
  return 0;
}
