// In-memory labelled image sets, the common currency of carve's loaders.
//
//   carve::Dataset d = carve::load_idx("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz");
//   d.images;   // float32 [N, C, H, W] in [0, 1]
//   d.labels;   // int64 [N]
//   d.flat();   // float32 [N, C*H*W], a view
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace carve {

/// Images and their labels.
struct Dataset {
  torch::Tensor images;  // float32 [N, C, H, W] in [0, 1]
  torch::Tensor labels;  // int64 [N]

  int64_t size() const { return images.defined() ? images.size(0) : 0; }
  torch::Tensor flat() const { return images.reshape({images.size(0), -1}); }
  // Examples at `indices` (int64 [M]), copied.
  Dataset select(const torch::Tensor& indices) const;
  // The first n examples (all when n >= size), shared storage.
  Dataset first(int64_t n) const;
  static Dataset concat(const std::vector<Dataset>& parts);
};

// A dataset as its source defines it: a test split when the source has one, else everything
// in `train` and an undefined `test`.
struct DatasetSource {
  std::string name;
  Dataset train;
  Dataset test;  // size() == 0 when the source has no test split
  std::vector<std::string> files = {};  // the files it was read from (load_dataset sets them)
};

}  // namespace carve
