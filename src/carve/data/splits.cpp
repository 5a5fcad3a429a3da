#include "carve/data/splits.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>

#include "carve/error.h"

namespace carve {

namespace {

// Unbiased integer in [0, bound) (rejection sampling), identical on every platform.
uint64_t bounded(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % bound;
  uint64_t r;
  do r = rng(); while (r >= limit);
  return r % bound;
}

}  // namespace

void shuffle_indices(std::vector<int64_t>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[bounded(rng, i)]);
}

std::vector<int64_t> shuffled_order(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  shuffle_indices(order, rng);
  return order;
}

namespace {

torch::Tensor to_index(const std::vector<int64_t>& v, size_t from, size_t to) {
  std::vector<int64_t> part(v.begin() + from, v.begin() + to);
  return torch::from_blob(part.data(), {static_cast<int64_t>(part.size())}, torch::kInt64).clone();
}

}  // namespace

std::vector<int64_t> split_order(const torch::Tensor& labels, uint64_t seed, bool shuffle,
                                 bool stratify) {
  const int64_t n = labels.size(0);
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  if (shuffle) shuffle_indices(order, rng);
  if (!stratify) return order;
  // Example k of a class with n_c members gets the key (k + 1/2) / n_c: sorting by key deals the
  // classes out in proportion, so any prefix or suffix of length m holds ~m n_c / n of class c.
  const auto lab = labels.to(torch::kInt64).contiguous();
  const int64_t* l = lab.data_ptr<int64_t>();
  std::map<int64_t, int64_t> count, seen;
  for (int64_t i : order) ++count[l[i]];
  std::vector<std::pair<double, int64_t>> keyed;
  keyed.reserve(n);
  for (int64_t i : order) {
    const int64_t c = l[i];
    keyed.emplace_back((static_cast<double>(seen[c]++) + 0.5) / static_cast<double>(count[c]), i);
  }
  std::stable_sort(keyed.begin(), keyed.end(),
                   [&](const auto& a, const auto& b) {
                     return a.first < b.first || (a.first == b.first && l[a.second] < l[b.second]);
                   });
  for (int64_t k = 0; k < n; ++k) order[k] = keyed[k].second;
  return order;
}

void standardize(Splits& splits) {
  TORCH_CHECK(splits.train.size() > 0, "standardize: no training examples");
  const auto x = splits.train.flat().to(torch::kFloat64);
  splits.mean = x.mean(0);
  auto sd = x.std(0, /*unbiased=*/false);
  splits.std = torch::where(sd > 1e-8, sd, torch::ones_like(sd));
  for (Dataset* d : {&splits.train, &splits.valid, &splits.test}) {
    if (d->size() == 0) continue;
    const auto z = (d->flat().to(torch::kFloat64) - splits.mean) / splits.std;
    d->images = z.to(torch::kFloat32).reshape(d->images.sizes());
  }
}

void check_split_sizes(const std::string& name, int64_t pool, int64_t test, const SplitOptions& o) {
  for (auto [key, v] : {std::pair{"train", o.train}, {"valid", o.valid}, {"test", o.test}}) {
    if (v < 0) throw UsageError(fmt::format("split size '{}' must be >= 0, got {}", key, v));
  }
  const bool has_test = test > 0;
  const int64_t carved = o.valid + (has_test ? 0 : o.test);
  if (carved >= pool) {
    throw UsageError(fmt::format("{}: valid ({}){} leave no training examples out of {}", name, o.valid,
                                 has_test ? std::string() : fmt::format(" and test ({})", o.test), pool));
  }
  if (o.train > pool - carved) {
    throw UsageError(fmt::format("{}: train ({}) is more than the {} examples available", name, o.train, pool - carved));
  }
  if (has_test && o.test > test) {
    throw UsageError(fmt::format("{}: test ({}) is more than the {} examples of its test split", name, o.test, test));
  }
}

Splits make_splits(const DatasetSource& source, const SplitOptions& o) {
  const bool has_test = source.test.size() > 0;
  const int64_t pool = source.train.size();
  check_split_sizes(source.name, pool, source.test.size(), o);
  const int64_t carved = o.valid + (has_test ? 0 : o.test);
  const auto order = split_order(source.train.labels, o.seed, o.shuffle, o.stratify);
  const size_t train_end = static_cast<size_t>(pool - carved);
  const size_t test_end = has_test ? train_end : train_end + static_cast<size_t>(o.test);
  Splits s;
  s.files = source.files;
  s.train_index = to_index(order, 0, train_end);
  if (o.train > 0) {  // the first `train` of the order, selected alone (not all, then cut)
    if (o.train > s.train_index.size(0)) {
      throw UsageError(fmt::format("{}: train ({}) is more than the {} examples available",
                                   source.name, o.train, s.train_index.size(0)));
    }
    s.train_index = s.train_index.slice(0, 0, o.train);
  }
  s.train = source.train.select(s.train_index);
  s.valid_index = to_index(order, test_end, static_cast<size_t>(pool));
  s.valid = source.train.select(s.valid_index);
  s.test_from_source_test = has_test;
  if (has_test) {
    s.test = o.test > 0 ? source.test.first(o.test) : source.test;
    s.test_index = torch::arange(s.test.size(), torch::kInt64);
  } else {
    s.test_index = to_index(order, train_end, test_end);
    s.test = source.train.select(s.test_index);
  }
  return s;
}

std::string splits_csv(const Splits& s) {
  if (!s.train_index.defined() || !s.valid_index.defined() || !s.test_index.defined()) return "";
  std::string csv = "split,part,index\n";
  const auto rows = [&](const char* split, const char* part, const torch::Tensor& index) {
    const auto values = index.contiguous();
    const auto* v = values.data_ptr<int64_t>();
    for (int64_t i = 0; i < values.numel(); ++i) csv += fmt::format("{},{},{}\n", split, part, v[i]);
  };
  rows("train", "train", s.train_index);
  rows("valid", "train", s.valid_index);
  rows("test", s.test_from_source_test ? "test" : "train", s.test_index);
  return csv;
}

}  // namespace carve
