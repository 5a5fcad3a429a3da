#include "carve/data/dataset.h"

namespace carve {

Dataset Dataset::select(const torch::Tensor& indices) const {
  return {images.index_select(0, indices), labels.index_select(0, indices)};
}

Dataset Dataset::first(int64_t n) const {
  if (n >= size()) return *this;
  return {images.slice(0, 0, n), labels.slice(0, 0, n)};
}

Dataset Dataset::concat(const std::vector<Dataset>& parts) {
  std::vector<torch::Tensor> images, labels;
  for (const auto& p : parts) {
    if (p.size() == 0) continue;
    images.push_back(p.images);
    labels.push_back(p.labels);
  }
  if (images.empty()) return {};
  return {torch::cat(images), torch::cat(labels)};
}

}  // namespace carve
