// Train / valid / test splits with seeded shuffling, optional stratification and subsetting.
//
//   carve::SplitOptions opts;
//   opts.valid = 1000; opts.seed = 7; opts.stratify = true;
//   carve::Splits s = carve::make_splits(carve::load_dataset("fashion-mnist"), opts);
//
// Rules. The pool is the source's training part; the test split is the source's own when it has
// one, else `test` examples taken from the pool. The pool is put in order (shuffled with `seed`,
// and with `stratify` interleaved so that every prefix and suffix keeps the class proportions),
// then valid is the LAST `valid` examples, test (when carved) the `test` before them, and train
// the rest. With shuffle off this is the MNIST-variations protocol: the last 2,000 of a
// *_train.amat file are the validation set. `train` > 0 keeps the first `train` training
// examples, `test` > 0 with a source test split keeps its first `test` (quick runs).
//
// The order comes from carve's own Fisher-Yates over a std::mt19937_64, so a seed gives the same
// split on every platform and LibTorch version.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "carve/data/dataset.h"

namespace carve {

/// Sizes of the splits (the keys data.train, data.valid, data.test).
struct SplitOptions {
  int64_t train = 0;  // 0: all that remains
  int64_t valid = 0;
  int64_t test = 0;   // carved from the pool when the source has no test split
  uint64_t seed = 0;
  bool shuffle = true;
  bool stratify = false;
};

/// A run's training, validation and test splits.
struct Splits {
  Dataset train, valid, test;
  /// Set by standardize(): the per-input mean and standard deviation of the training split.
  torch::Tensor mean, std;
  /// Where each example came from (int64 [N], set by make_splits): its index in the source's
  /// training part (the pool), or for test_index, in the source's test part when
  /// test_from_source_test. Undefined for splits made some other way.
  torch::Tensor train_index, valid_index, test_index;
  bool test_from_source_test = false;
  /// The files the source was read from (DatasetSource::files); empty for splits made otherwise.
  std::vector<std::string> files = {};
};

/// Refuses (UsageError, naming the sizes) split sizes that a source of `pool` training examples
/// and `test` test examples (0: none of its own) cannot give; what make_splits checks first, and
/// `carve check` from the files' sizes alone.
void check_split_sizes(const std::string& name, int64_t pool, int64_t test, const SplitOptions& options);

/// Draws the splits from a source as `options` say.
Splits make_splits(const DatasetSource& source, const SplitOptions& options);

/// splits.csv of a run directory: `split,part,index`, one row per example in split order (train,
/// valid, test), `part` the source's part it indexes (`train` or `test`), so that anyone can take
/// exactly the examples carve used. "" when the indices are undefined.
std::string splits_csv(const Splits& splits);

/// Shifts and scales every input of every split to zero mean and unit variance with the
/// statistics of the training split (inputs that never vary keep a scale of 1), and records them
/// in splits.mean / splits.std. The images are no longer in [0, 1].
void standardize(Splits& splits);

// Shuffles `indices` in place with carve's Fisher-Yates (unbiased draws from `rng`): the same
// order on every platform. The one shuffle behind splits, epochs and fine-tuning.
void shuffle_indices(std::vector<int64_t>& indices, std::mt19937_64& rng);
// 0 .. n-1 shuffled with a generator seeded by `seed`.
std::vector<int64_t> shuffled_order(int64_t n, uint64_t seed);

// The pool order of make_splits (indices into `labels`).
std::vector<int64_t> split_order(const torch::Tensor& labels, uint64_t seed, bool shuffle,
                                 bool stratify);

}  // namespace carve
