#include "carve/report/images.h"

#include <fmt/format.h>
// stb_image_write compiled here, static: no link to libstb, no symbol clash with a program that has its own.
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include <filesystem>
#include <cstring>
#include <fstream>

#include "carve/atomic_file.h"
#include "carve/error.h"

namespace carve {

torch::Tensor image_grid(const torch::Tensor& tiles, int64_t columns, bool per_tile_scale) {
  TORCH_CHECK(tiles.dim() == 3, "image_grid: expected [N, h, w], got ", tiles.sizes());
  const int64_t n = tiles.size(0), h = tiles.size(1), w = tiles.size(2);
  const int64_t cols = std::min(columns, n), rows = (n + cols - 1) / cols;
  auto grid = torch::ones({rows * (h + 1) + 1, cols * (w + 1) + 1}, torch::kFloat32) * 0.5;
  auto t = tiles.detach().to(torch::kFloat32).cpu();
  if (per_tile_scale) {
    const auto lo = std::get<0>(t.view({n, -1}).min(1)).view({n, 1, 1});
    const auto hi = std::get<0>(t.view({n, -1}).max(1)).view({n, 1, 1});
    t = (t - lo) / (hi - lo).clamp_min(1e-12);
  } else {
    t = t.clamp(0, 1);
  }
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = i / cols, c = i % cols;
    grid.slice(0, 1 + r * (h + 1), 1 + r * (h + 1) + h).slice(1, 1 + c * (w + 1), 1 + c * (w + 1) + w).copy_(t[i]);
  }
  return grid;
}

void write_png(const std::string& path, const torch::Tensor& image, int64_t scale) {
  TORCH_CHECK(image.dim() == 2, "write_png: expected [H, W]");
  TORCH_CHECK(scale >= 1, "write_png: scale must be >= 1");
  const auto scaled = scale == 1 ? image : image.repeat_interleave(scale, 0).repeat_interleave(scale, 1);
  const auto bytes = scaled.detach().to(torch::kFloat32).cpu().clamp(0, 1).mul(255).round().to(torch::kUInt8).contiguous();
  std::string png;
  const auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
  };
  if (!stbi_write_png_to_func(append, &png, static_cast<int>(bytes.size(1)), static_cast<int>(bytes.size(0)), 1,
                              bytes.data_ptr<uint8_t>(), static_cast<int>(bytes.size(1)))) {
    throw WriteError(fmt::format("{}: cannot encode the PNG", path));
  }
  write_file_atomically(path, png);
}

std::pair<int64_t, int64_t> png_size(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char header[24] = {};
  in.read(reinterpret_cast<char*>(header), 24);
  static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (in.gcount() != 24 || std::memcmp(header, sig, 8) != 0 || std::memcmp(header + 12, "IHDR", 4) != 0) return {0, 0};
  const auto be = [&](int o) {
    return (int64_t(header[o]) << 24) | (int64_t(header[o + 1]) << 16) | (int64_t(header[o + 2]) << 8) | header[o + 3];
  };
  return {be(16), be(20)};
}

}  // namespace carve
