#include "carve/data/variations.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>

#include "carve/error.h"

namespace carve {

namespace {

constexpr int kSide = 28;
constexpr double kPi = 3.14159265358979323846;

// Portable draws (the standard distributions are implementation-defined).
struct Rng {
  explicit Rng(uint64_t seed) : engine(seed) {}
  double uniform() { return static_cast<double>(engine() >> 11) * 0x1.0p-53; }  // [0, 1)
  int64_t integer(int64_t lo, int64_t hi) {  // [lo, hi]
    const uint64_t bound = static_cast<uint64_t>(hi - lo + 1);
    const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do r = engine(); while (r >= limit);
    return lo + static_cast<int64_t>(r % bound);
  }
  int64_t geometric(double p) {  // on {1, 2, ...}
    int64_t k = 1;
    while (uniform() >= p) ++k;
    return k;
  }
  std::mt19937_64 engine;
};

using Image = std::vector<float>;  // kSide * kSide

// Exactly balanced binary labels in random order.
std::vector<int64_t> balanced_labels(int64_t n, Rng& rng) {
  std::vector<int64_t> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[i] = i % 2;
  for (int64_t i = n; i > 1; --i) std::swap(labels[i - 1], labels[rng.integer(0, i - 1)]);
  return labels;
}

Image rectangle(bool tall, Rng& rng) {
  int64_t a, b;
  do {
    a = rng.integer(3, 26);
    b = rng.integer(3, 26);
  } while (std::abs(a - b) < 3);
  const int64_t h = tall ? std::max(a, b) : std::min(a, b);
  const int64_t w = tall ? std::min(a, b) : std::max(a, b);
  const int64_t top = rng.integer(0, kSide - h), left = rng.integer(0, kSide - w);
  Image img(kSide * kSide, 0.f);
  for (int64_t y = top; y < top + h; ++y) {
    for (int64_t x = left; x < left + w; ++x) {
      if (y == top || y == top + h - 1 || x == left || x == left + w - 1) img[y * kSide + x] = 1.f;
    }
  }
  return img;
}

std::vector<uint8_t> half_plane_intersection(int64_t planes, Rng& rng) {
  std::vector<uint8_t> in(kSide * kSide, 1);
  for (int64_t k = 0; k < planes; ++k) {
    const double px = rng.uniform() * kSide, py = rng.uniform() * kSide;
    const double theta = rng.uniform() * 2 * kPi;
    const double nx = std::cos(theta), ny = std::sin(theta);
    for (int y = 0; y < kSide; ++y) {
      for (int x = 0; x < kSide; ++x) {
        if ((x + 0.5 - px) * nx + (y + 0.5 - py) * ny < 0) in[y * kSide + x] = 0;
      }
    }
  }
  return in;
}

int64_t count(const std::vector<uint8_t>& in) { return std::count(in.begin(), in.end(), 1); }

bool convex_pixels(const std::vector<uint8_t>& in) {
  // Convex hull of the pixel centres (Andrew's monotone chain), then every pixel centre inside
  // it must be in the set.
  std::vector<std::pair<double, double>> pts;
  for (int y = 0; y < kSide; ++y)
    for (int x = 0; x < kSide; ++x)
      if (in[y * kSide + x]) pts.emplace_back(x, y);
  if (pts.size() < 3) return true;
  std::sort(pts.begin(), pts.end());
  const auto cross = [](const auto& o, const auto& a, const auto& b) {
    return (a.first - o.first) * (b.second - o.second) - (a.second - o.second) * (b.first - o.first);
  };
  std::vector<std::pair<double, double>> hull(2 * pts.size());
  size_t k = 0;
  for (size_t i = 0; i < pts.size(); ++i) {
    while (k >= 2 && cross(hull[k - 2], hull[k - 1], pts[i]) <= 0) --k;
    hull[k++] = pts[i];
  }
  for (size_t i = pts.size() - 1, t = k + 1; i > 0; --i) {
    while (k >= t && cross(hull[k - 2], hull[k - 1], pts[i - 1]) <= 0) --k;
    hull[k++] = pts[i - 1];
  }
  hull.resize(k - 1);
  for (int y = 0; y < kSide; ++y) {
    for (int x = 0; x < kSide; ++x) {
      if (in[y * kSide + x]) continue;
      bool inside = hull.size() >= 3;
      for (size_t i = 0; inside && i < hull.size(); ++i) {
        inside = cross(hull[i], hull[(i + 1) % hull.size()], std::pair<double, double>(x, y)) >= -1e-9;
      }
      if (inside) return false;
    }
  }
  return true;
}

Image convex_region(bool convex, Rng& rng) {
  for (;;) {
    std::vector<uint8_t> in;
    if (convex) {
      in = half_plane_intersection(rng.geometric(0.195), rng);
      if (count(in) < 19) continue;
    } else {
      in.assign(kSide * kSide, 0);
      const int64_t parts = rng.integer(2, 4);
      for (int64_t p = 0; p < parts; ++p) {
        std::vector<uint8_t> part;
        do part = half_plane_intersection(rng.geometric(0.07), rng); while (count(part) < 10);
        for (size_t i = 0; i < in.size(); ++i) in[i] |= part[i];
      }
      if (count(in) < 19 || convex_pixels(in)) continue;
    }
    return Image(in.begin(), in.end());
  }
}

torch::Tensor to_tensor(const std::vector<Image>& images) {
  auto t = torch::empty({static_cast<int64_t>(images.size()), 1, kSide, kSide}, torch::kFloat32);
  float* p = t.data_ptr<float>();
  for (const auto& img : images) p = std::copy(img.begin(), img.end(), p);
  return t;
}

Dataset make_split(int64_t n, Rng& rng, const std::function<Image(int64_t label)>& draw) {
  const auto labels = balanced_labels(n, rng);
  std::vector<Image> images;
  images.reserve(n);
  for (int64_t label : labels) images.push_back(draw(label));
  return {to_tensor(images), torch::tensor(labels, torch::kInt64)};
}

}  // namespace

const std::vector<std::string>& variation_names() {
  static const std::vector<std::string> names{"rectangles", "convex", "mnist-basic", "mnist-rot",
                                              "mnist-back-rand"};
  return names;
}

bool is_variation(const std::string& name) {
  const auto& n = variation_names();
  return std::find(n.begin(), n.end(), name) != n.end();
}

bool is_mnist_variation(const std::string& name) { return is_variation(name) && name.rfind("mnist-", 0) == 0; }

VariationSizes default_variation_sizes(const std::string& name) {
  if (name == "rectangles") return {1000, 200, 50000};
  if (name == "convex") return {6000, 2000, 50000};
  if (is_mnist_variation(name)) return {10000, 2000, 50000};
  throw UsageError(fmt::format("unknown generated dataset '{}' (known: {})", name,
                               fmt::join(variation_names(), ", ")));
}

torch::Tensor rotate_image(const torch::Tensor& image, double angle) {
  const auto src = image.reshape({kSide, kSide}).to(torch::kFloat32).contiguous();
  const float* s = src.data_ptr<float>();
  auto out = torch::zeros({kSide, kSide}, torch::kFloat32);
  float* o = out.data_ptr<float>();
  const double c = (kSide - 1) / 2.0, ca = std::cos(angle), sa = std::sin(angle);
  const auto at = [&](int64_t y, int64_t x) {
    return (y < 0 || y >= kSide || x < 0 || x >= kSide) ? 0.f : s[y * kSide + x];
  };
  for (int y = 0; y < kSide; ++y) {
    for (int x = 0; x < kSide; ++x) {
      // Inverse rotation: where in the source does output pixel (x, y) come from?
      const double dx = x - c, dy = y - c;
      const double sx = ca * dx + sa * dy + c, sy = -sa * dx + ca * dy + c;
      const double fx = std::floor(sx), fy = std::floor(sy);
      const double wx = sx - fx, wy = sy - fy;
      const auto ix = static_cast<int64_t>(fx), iy = static_cast<int64_t>(fy);
      o[y * kSide + x] = static_cast<float>((1 - wy) * ((1 - wx) * at(iy, ix) + wx * at(iy, ix + 1)) +
                                            wy * ((1 - wx) * at(iy + 1, ix) + wx * at(iy + 1, ix + 1)));
    }
  }
  return out.view({1, kSide, kSide});
}

bool is_digitally_convex(const torch::Tensor& image) {
  const auto img = image.reshape({kSide * kSide}).to(torch::kFloat32).contiguous();
  std::vector<uint8_t> in(kSide * kSide);
  for (int i = 0; i < kSide * kSide; ++i) in[i] = img.data_ptr<float>()[i] > 0.5f;
  return convex_pixels(in);
}

DatasetSource generate_variation(const std::string& name, uint64_t seed, const VariationSizes& sizes,
                                 const Dataset* digits) {
  default_variation_sizes(name);  // validates the name
  for (auto [what, v] : {std::pair{"train", sizes.train}, {"valid", sizes.valid}, {"test", sizes.test}}) {
    if (v <= 0) throw UsageError(fmt::format("{}: {} size must be positive, got {}", name, what, v));
  }
  Rng rng(seed);
  std::function<Dataset(int64_t, Rng&)> split;
  if (name == "rectangles") {
    split = [](int64_t n, Rng& r) { return make_split(n, r, [&](int64_t l) { return rectangle(l == 1, r); }); };
  } else if (name == "convex") {
    split = [](int64_t n, Rng& r) { return make_split(n, r, [&](int64_t l) { return convex_region(l == 1, r); }); };
  }
  if (split) {
    auto train = split(sizes.train, rng);
    auto valid = split(sizes.valid, rng);
    auto test = split(sizes.test, rng);
    return {name, Dataset::concat({train, valid}), test};
  }

  // MNIST-based: disjoint pools of digits, each digit used once.
  if (digits == nullptr || digits->size() == 0) {
    throw DataError(fmt::format("{}: needs the MNIST digits (dataset 'mnist')", name));
  }
  const int64_t needed = sizes.train + sizes.valid + sizes.test;
  if (needed > digits->size()) {
    throw UsageError(fmt::format("{}: train + valid + test = {} exceeds the {} available digits", name,
                                 needed, digits->size()));
  }
  std::vector<int64_t> order(digits->size());
  std::iota(order.begin(), order.end(), 0);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.integer(0, i - 1)]);
  const auto transform = [&](int64_t index) {
    const auto img = digits->images[index].reshape({kSide, kSide});
    if (name == "mnist-basic") return img.view({1, kSide, kSide}).clone();
    if (name == "mnist-rot") return rotate_image(img, rng.uniform() * 2 * kPi);
    auto noise = torch::empty({kSide, kSide}, torch::kFloat32);
    for (int i = 0; i < kSide * kSide; ++i) noise.data_ptr<float>()[i] = static_cast<float>(rng.uniform());
    return torch::where(img > 0, img, noise).view({1, kSide, kSide});
  };
  int64_t next = 0;
  const auto take = [&](int64_t n) {
    std::vector<torch::Tensor> images;
    std::vector<int64_t> idx(order.begin() + next, order.begin() + next + n);
    next += n;
    for (int64_t i : idx) images.push_back(transform(i));
    return Dataset{torch::stack(images), digits->labels.index_select(0, torch::tensor(idx, torch::kInt64))};
  };
  auto train = take(sizes.train);
  auto valid = take(sizes.valid);
  auto test = take(sizes.test);
  return {name, Dataset::concat({train, valid}), test};
}

}  // namespace carve
