// IDX files, the format of MNIST, Fashion-MNIST and KMNIST (LeCun et al.): a 4-byte magic
// (0, 0, element type, number of dimensions), one big-endian int32 per dimension, then the
// elements in row-major order. carve reads and writes unsigned-byte IDX (type 0x08), raw or
// gzip-compressed (detected by content, not by name).
//
//   carve::Dataset d = carve::load_idx("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz");
//   carve::write_idx("labels-idx1-ubyte", d.labels.to(torch::kUInt8));
//
// Errors (carve::DataError) name the file and the byte offset: bad magic, unsupported type,
// truncated data, trailing bytes, wrong number of dimensions, image and label counts that differ.
#pragma once

#include <torch/torch.h>

#include <string>

#include "carve/data/dataset.h"

namespace carve {

// The file's array as uint8 with the file's dimensions.
torch::Tensor read_idx(const std::string& path);

// Writes a uint8 tensor (any number of dimensions, 1 to 4) atomically.
void write_idx(const std::string& path, const torch::Tensor& array, bool gzip = false);

// Images ([N, H, W] or [N, C, H, W]) scaled to [0, 1] and their labels ([N]).
Dataset load_idx(const std::string& images_path, const std::string& labels_path);

// The labels file that goes with an images file by the MNIST naming convention
// (train-images-idx3-ubyte.gz -> train-labels-idx1-ubyte.gz); empty if the name does not say.
std::string idx_labels_path_for(const std::string& images_path);

}  // namespace carve
