#include "carve/data/idx.h"

#include <fmt/format.h>

#include <fmt/ranges.h>

#include <cstring>
#include <filesystem>

#include "carve/data/file_bytes.h"
#include "carve/error.h"

namespace carve {

namespace {

uint32_t big_endian_u32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

}  // namespace

torch::Tensor read_idx(const std::string& path) {
  auto bytes = data::read_file_bytes(path);
  if (bytes.size() < 4) {
    throw DataError(fmt::format("{}: byte 0: {} bytes, too short for an IDX header", path, bytes.size()));
  }
  if (bytes[0] != 0 || bytes[1] != 0) {
    throw DataError(fmt::format("{}: byte 0: bad magic number 0x{:08x} (an IDX file starts with 00 00)",
                                path, big_endian_u32(bytes.data())));
  }
  if (bytes[2] != 0x08) {
    throw DataError(fmt::format(
        "{}: byte 2: element type 0x{:02x} is not supported (only unsigned bytes, 0x08)", path,
        bytes[2]));
  }
  const size_t ndim = bytes[3];
  if (ndim < 1 || ndim > 4) {
    throw DataError(fmt::format("{}: byte 3: {} dimensions (expected 1 to 4)", path, ndim));
  }
  const size_t header = 4 + 4 * ndim;
  if (bytes.size() < header) {
    throw DataError(fmt::format("{}: byte {}: truncated header ({} dimensions need {} bytes)", path,
                                bytes.size(), ndim, header));
  }
  std::vector<int64_t> dims;
  // The dimensions' product, checked: four of 2^32 - 1 would wrap around (and a first dimension
  // of 0 would hide the others' product from the size check below).
  uint64_t count = 1, shape = 1;
  for (size_t d = 0; d < ndim; ++d) {
    const uint32_t n = big_endian_u32(bytes.data() + 4 + 4 * d);
    if (n == 0 && d > 0) {
      throw DataError(fmt::format("{}: byte {}: dimension {} is 0", path, 4 + 4 * d, d));
    }
    if (n > 0 && shape > (uint64_t{1} << 40) / n) {
      throw DataError(fmt::format("{}: byte {}: dimensions {}{}{} hold more than 2^40 values", path, 4 + 4 * d,
                                  fmt::join(dims, " x "), dims.empty() ? "" : " x ", n));
    }
    dims.push_back(n);
    if (n > 0) shape *= n;
    count *= n;
  }
  if (bytes.size() < header + count) {
    throw DataError(fmt::format(
        "{}: byte {}: truncated: the header promises {} bytes of data ({}), the file has {}", path,
        bytes.size(), count, fmt::join(dims, " x "), bytes.size() - header));
  }
  if (bytes.size() > header + count) {
    throw DataError(fmt::format("{}: byte {}: {} unexpected bytes after the data ({})", path,
                                header + count, bytes.size() - header - count,
                                fmt::join(dims, " x ")));
  }
  // Own the bytes without a copy: the vector lives as long as the tensor.
  auto owner = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  return torch::from_blob(owner->data() + header, dims, [owner](void*) {},
                          torch::TensorOptions().dtype(torch::kUInt8));
}

void write_idx(const std::string& path, const torch::Tensor& array, bool gzip) {
  TORCH_CHECK(array.scalar_type() == torch::kUInt8, "write_idx: expected uint8, got ",
              array.scalar_type());
  TORCH_CHECK(array.dim() >= 1 && array.dim() <= 4, "write_idx: expected 1 to 4 dimensions");
  const auto contiguous = array.contiguous().cpu();
  std::vector<uint8_t> bytes(4 + 4 * contiguous.dim() + contiguous.numel());
  bytes[2] = 0x08;
  bytes[3] = static_cast<uint8_t>(contiguous.dim());
  for (int64_t d = 0; d < contiguous.dim(); ++d) {
    const auto n = static_cast<uint32_t>(contiguous.size(d));
    for (int b = 0; b < 4; ++b) bytes[4 + 4 * d + b] = static_cast<uint8_t>(n >> (24 - 8 * b));
  }
  std::memcpy(bytes.data() + 4 + 4 * contiguous.dim(), contiguous.data_ptr<uint8_t>(),
              contiguous.numel());
  data::write_file_bytes(path, bytes.data(), bytes.size(), gzip);
}

Dataset load_idx(const std::string& images_path, const std::string& labels_path) {
  auto images = read_idx(images_path);
  auto labels = read_idx(labels_path);
  if (images.dim() != 3 && images.dim() != 4) {
    throw DataError(fmt::format("{}: byte 3: {} dimensions, expected 3 (N, H, W) or 4 (N, C, H, W) for images",
                                images_path, images.dim()));
  }
  if (labels.dim() != 1) {
    throw DataError(fmt::format("{}: byte 3: {} dimensions, expected 1 for labels", labels_path,
                                labels.dim()));
  }
  if (images.size(0) != labels.size(0)) {
    throw DataError(fmt::format("{}: {} images but {}: {} labels", images_path, images.size(0),
                                labels_path, labels.size(0)));
  }
  if (images.dim() == 3) images = images.unsqueeze(1);
  return {images.to(torch::kFloat32).div_(255.0), labels.to(torch::kInt64)};
}

std::string idx_labels_path_for(const std::string& images_path) {
  const auto dir = std::filesystem::path(images_path).parent_path();
  std::string name = std::filesystem::path(images_path).filename().string();
  const auto replace = [&](const std::string& from, const std::string& to) {
    const auto at = name.find(from);
    if (at == std::string::npos) return false;
    name.replace(at, from.size(), to);
    return true;
  };
  const bool images_word = replace("images", "labels");
  const bool idx3 = replace("idx3", "idx1") || replace("idx4", "idx1");
  if (!images_word && !idx3) return {};
  return (dir / name).string();
}

}  // namespace carve
