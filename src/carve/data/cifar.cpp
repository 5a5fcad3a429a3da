#include "carve/data/cifar.h"

#include <fmt/format.h>

#include <cstring>
#include <filesystem>

#include "carve/data/file_bytes.h"
#include "carve/error.h"

namespace carve {

namespace {
constexpr int64_t kSide = 32;
constexpr int64_t kPixels = 3 * kSide * kSide;
constexpr int64_t kRecord = 1 + kPixels;
}  // namespace

Dataset load_cifar10_batch(const std::string& path) {
  const auto bytes = data::read_file_bytes(path);
  if (bytes.empty()) throw DataError(fmt::format("{}: byte 0: empty file", path));
  const int64_t n = static_cast<int64_t>(bytes.size()) / kRecord;
  if (static_cast<int64_t>(bytes.size()) % kRecord != 0) {
    throw DataError(fmt::format("{}: byte {}: truncated record {} ({} of {} bytes)", path, n * kRecord,
                                n, bytes.size() - n * kRecord, kRecord));
  }
  auto labels = torch::empty({n}, torch::kInt64);
  auto pixels = torch::empty({n, kPixels}, torch::kUInt8);
  auto* lab = labels.data_ptr<int64_t>();
  auto* pix = pixels.data_ptr<uint8_t>();
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t label = bytes[i * kRecord];
    if (label > 9) {
      throw DataError(fmt::format("{}: byte {}: label {} of record {} is outside 0..9", path,
                                  i * kRecord, label, i));
    }
    lab[i] = label;
    std::memcpy(pix + i * kPixels, bytes.data() + i * kRecord + 1, kPixels);
  }
  return {pixels.view({n, 3, kSide, kSide}).to(torch::kFloat32).div_(255.0), labels};
}

torch::Tensor to_grey(const torch::Tensor& rgb) {
  TORCH_CHECK(rgb.dim() == 4 && rgb.size(1) == 3, "to_grey: expected [N, 3, H, W], got ", rgb.sizes());
  const auto weights = torch::tensor({0.299, 0.587, 0.114}, rgb.options()).view({1, 3, 1, 1});
  return (rgb * weights).sum(1, /*keepdim=*/true);
}

DatasetSource load_cifar10(const std::string& directory, bool grey) {
  namespace fs = std::filesystem;
  std::vector<Dataset> train;
  for (int b = 1; b <= 5; ++b) {
    train.push_back(load_cifar10_batch((fs::path(directory) / fmt::format("data_batch_{}.bin", b)).string()));
  }
  DatasetSource source{grey ? "cifar10-bw" : "cifar10", Dataset::concat(train),
                       load_cifar10_batch((fs::path(directory) / "test_batch.bin").string())};
  if (grey) {
    source.train.images = to_grey(source.train.images);
    source.test.images = to_grey(source.test.images);
  }
  return source;
}

void write_cifar10_batch(const std::string& path, const Dataset& d) {
  TORCH_CHECK(d.images.dim() == 4 && d.images.size(1) == 3 && d.images.size(2) == kSide &&
              d.images.size(3) == kSide, "write_cifar10_batch: expected [N, 3, 32, 32]");
  const int64_t n = d.size();
  const auto pixels = d.images.mul(255).round().clamp(0, 255).to(torch::kUInt8).reshape({n, kPixels}).contiguous();
  const auto labels = d.labels.to(torch::kInt64).contiguous();
  std::vector<uint8_t> bytes(n * kRecord);
  for (int64_t i = 0; i < n; ++i) {
    bytes[i * kRecord] = static_cast<uint8_t>(labels.data_ptr<int64_t>()[i]);
    std::memcpy(bytes.data() + i * kRecord + 1, pixels.data_ptr<uint8_t>() + i * kPixels, kPixels);
  }
  data::write_file_bytes(path, bytes.data(), bytes.size());
}

}  // namespace carve
