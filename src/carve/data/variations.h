// Generators for the variations benchmark of Larochelle et al. (ICML 2007), written as .amat so
// the same loader reads them as it reads the originals. Each returns the benchmark's two files:
// train (training examples, then the validation examples last, as in the originals) and test.
//
//   rectangles       a white rectangle outline on black; label 1 if tall (height > width),
//                    0 if wide. Height and width uniform in [3, 26], rejected when they differ
//                    by fewer than 3 pixels; the top-left corner uniform where the rectangle fits.
//   convex           a white region; label 1 if convex, 0 if not. Convex: the intersection of
//                    k ~ Geometric(0.195) random half-planes (a uniform point in the image and a
//                    uniform direction), rejected below 19 pixels. Non-convex: the union of 2-4
//                    such sets with k ~ Geometric(0.07), each of at least 10 pixels, kept only if
//                    the union is not digitally convex (some pixel centre inside the convex hull
//                    of its pixel centres is off) and has at least 19 pixels.
//   mnist-basic      an MNIST digit as it is (the benchmark's smaller MNIST).
//   mnist-rot        an MNIST digit rotated by an angle uniform in [0, 2 pi) about the image
//                    centre, bilinear interpolation, zero outside.
//   mnist-back-rand  an MNIST digit whose background pixels (value 0) are replaced by uniform
//                    noise in [0, 1]; the digit's own pixels are kept.
//
// Sizes are the originals' (train / valid / test): 10,000 / 2,000 / 50,000 for the MNIST-based
// sets, 1,000 / 200 / 50,000 for rectangles, 6,000 / 2,000 / 50,000 for convex. Deviations from
// the 2007 originals (docs/DATA.md): the MNIST-based sets draw their 62,000 digits, each once,
// from MNIST's 70,000 pooled (training and test files together; the originals' provenance
// within MNIST is not published), and rectangles and convex balance their classes exactly in
// every split (the MNIST-based sets inherit the digits' near-uniform classes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "carve/data/dataset.h"

namespace carve {

/// Sizes of a generated variation's splits.
struct VariationSizes {
  int64_t train = 0, valid = 0, test = 0;
};

/// The variations carve generates, whether a name is one of them, and a variation's default
/// split sizes.
const std::vector<std::string>& variation_names();
bool is_variation(const std::string& name);
/// Whether a variation is made of MNIST digits (mnist-basic, mnist-rot, mnist-back-rand).
bool is_mnist_variation(const std::string& name);
VariationSizes default_variation_sizes(const std::string& name);

// `digits` (the MNIST digits) is needed by mnist-rot and mnist-back-rand only.
DatasetSource generate_variation(const std::string& name, uint64_t seed, const VariationSizes& sizes,
                                 const Dataset* digits = nullptr);

// Single examples, for tests: 28 x 28 images in [0, 1].
torch::Tensor rotate_image(const torch::Tensor& image, double angle);
bool is_digitally_convex(const torch::Tensor& image);

}  // namespace carve
