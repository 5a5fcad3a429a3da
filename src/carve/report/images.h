// Image grids written as PNG (stb_image_write): the tiled-filters picture and reconstructions.
//
//   auto grid = carve::image_grid(filters.view({-1, 28, 28}), 10);   // each tile rescaled
//   carve::write_png("filters.png", grid);                           // 8-bit grey
#pragma once

#include <torch/torch.h>

#include <string>

namespace carve {

// Tiles [N, h, w] into rows of `columns` with a 1-pixel border; each tile is scaled to [0, 1]
// by its own minimum and maximum when `per_tile_scale`, else clamped to [0, 1].
torch::Tensor image_grid(const torch::Tensor& tiles, int64_t columns, bool per_tile_scale = true);
// A [H, W] image in [0, 1] as an 8-bit grey PNG, written atomically, each pixel repeated
// `scale` times in both directions (so 28-pixel tiles stay legible).
void write_png(const std::string& path, const torch::Tensor& image, int64_t scale = 1);
// Width and height from a PNG's header; {0, 0} if the file is not a PNG.
std::pair<int64_t, int64_t> png_size(const std::string& path);

}  // namespace carve
