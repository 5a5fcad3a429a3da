// Files cross LibTorch versions: tests/fixtures/encoder-1.13.pt was written by carve on Debian's
// LibTorch 1.13 (a 25 -> 8 sigmoid auto-encoder), and encoder-1.13-codes.csv holds its codes of a
// fixed input as Python torch 1.13 computed them. This test loads it with the LibTorch carve is
// built on — 1.13 here, 2.6 in CI's Debian 13 stage (tools/compat/libtorch2.sh), which also
// checks it in Python torch 2.6 — and requires the same codes to 1e-6.
#include <gtest/gtest.h>
#include <torch/script.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace carve {
namespace {

namespace fs = std::filesystem;
const fs::path kFixtures = fs::path(CARVE_TEST_SOURCE_DIR) / "tests" / "fixtures";

TEST(CrossVersion, AnEncoderWrittenOnLibTorch113GivesTheSameCodes) {
  auto encoder = torch::jit::load((kFixtures / "encoder-1.13.pt").string());
  EXPECT_EQ(encoder.attr("model_type").toStringRef(), "autoencoder");
  EXPECT_EQ(encoder.attr("inputs").toInt(), 25);
  EXPECT_EQ(encoder.attr("hidden").toInt(), 8);
  const auto x = torch::linspace(0, 1, 3 * 25).reshape({3, 25});
  const auto codes = encoder.forward({x}).toTensor().to(torch::kFloat64);
  ASSERT_EQ(codes.sizes(), (std::vector<int64_t>{3, 8}));

  std::ifstream in(kFixtures / "encoder-1.13-codes.csv");
  std::string line;
  int row = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::stringstream cells(line);
    int col = 0;
    for (std::string cell; std::getline(cells, cell, ','); ++col) {
      EXPECT_NEAR(codes[row][col].item<double>(), std::stod(cell), 1e-6) << "row " << row << " column " << col;
    }
    EXPECT_EQ(col, 8);
    ++row;
  }
  EXPECT_EQ(row, 3);
  // Its decoder came along.
  const auto back = encoder.get_method("reconstruct")({x}).toTensor();
  EXPECT_EQ(back.sizes(), x.sizes());
}

}  // namespace
}  // namespace carve
