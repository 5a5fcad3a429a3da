// CIFAR-10 binary batches (Krizhevsky 2009): data_batch_1.bin ... data_batch_5.bin (50,000
// training images) and test_batch.bin (10,000), each record one label byte (0-9) and 3072 pixel
// bytes, the red, green and blue 32x32 planes in turn.
//
//   carve::DatasetSource s = carve::load_cifar10("/data/cifar-10-batches-bin", /*grey=*/true);
//
// CIFAR-bw, the grey-level CIFAR-10 of Rifai et al. (2011), is the ITU-R BT.601 luma
//   Y = 0.299 R + 0.587 G + 0.114 B
// of each pixel (values in [0, 1]), one channel [N, 1, 32, 32]. The paper does not state its
// formula; BT.601 is what PIL's convert("L") and OpenCV's COLOR_RGB2GRAY use.
#pragma once

#include <string>

#include "carve/data/dataset.h"

namespace carve {

// One batch file: colour images [N, 3, 32, 32] and labels.
Dataset load_cifar10_batch(const std::string& path);
DatasetSource load_cifar10(const std::string& directory, bool grey);
// BT.601 luma of [N, 3, H, W] images -> [N, 1, H, W].
torch::Tensor to_grey(const torch::Tensor& rgb);
// Writes a batch file (the tests' fixtures; images [N, 3, 32, 32] in [0, 1]).
void write_cifar10_batch(const std::string& path, const Dataset& data);

}  // namespace carve
