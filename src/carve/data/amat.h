// .amat files, the format of the MNIST-variations, rectangles and convex benchmarks
// (Larochelle et al., ICML 2007): one example per line, whitespace-separated numbers, the pixel
// values in [0, 1] followed by the label in the last column. Images are square when the pixel
// count is a perfect square (784 -> 1 x 28 x 28), else one row.
//
//   carve::Dataset d = carve::load_amat("mnist_background_random_train.amat");
//   carve::write_amat("rectangles_train.amat", d);
//
// Errors name the file and the line: a non-numeric value, a short or long line, a value outside
// [0, 1], a label that is not a non-negative integer.
#pragma once

#include <string>

#include "carve/data/dataset.h"

namespace carve {

/// Reads an .amat file (docs/DATA.md; errors name the file and line) and writes one.
Dataset load_amat(const std::string& path);
void write_amat(const std::string& path, const Dataset& data);

}  // namespace carve
