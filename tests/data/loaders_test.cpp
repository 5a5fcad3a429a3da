// IDX, CIFAR-10 and .amat: round trips on files the tests write, and every corrupt-file case
// failing with one DataError that names the file and the byte offset or line.
#include <gtest/gtest.h>

#include "carve/data/amat.h"
#include "carve/data/catalog.h"
#include "carve/data/cifar.h"
#include "carve/data/file_bytes.h"
#include "carve/data/idx.h"
#include "carve/error.h"
#include "support/run_command.h"
#include "support/temp_dir.h"

namespace carve {
namespace {

using testing::TempDir;

torch::Tensor random_bytes(std::vector<int64_t> shape, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::randint(0, 256, shape, torch::kInt64).to(torch::kUInt8);
}

// The message of the DataError thrown by `fn`.
template <typename F>
std::string data_error(F&& fn) {
  try {
    fn();
  } catch (const DataError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a DataError";
  return {};
}

TEST(Idx, RoundTripsRawAndGzip) {
  TempDir dir;
  const auto images = random_bytes({7, 5, 4}, 1);
  const auto labels = random_bytes({7}, 2).remainder(10);
  for (bool gz : {false, true}) {
    const auto ip = dir.file(gz ? "a-images-idx3-ubyte.gz" : "a-images-idx3-ubyte");
    const auto lp = dir.file(gz ? "a-labels-idx1-ubyte.gz" : "a-labels-idx1-ubyte");
    write_idx(ip, images, gz);
    write_idx(lp, labels, gz);
    EXPECT_TRUE(torch::equal(read_idx(ip), images));
    const auto d = load_idx(ip, lp);
    EXPECT_EQ(d.images.sizes(), (std::vector<int64_t>{7, 1, 5, 4}));
    EXPECT_TRUE(torch::allclose(d.images, images.unsqueeze(1).to(torch::kFloat32) / 255));
    EXPECT_TRUE(torch::equal(d.labels, labels.to(torch::kInt64)));
    EXPECT_EQ(idx_labels_path_for(ip), lp);
    EXPECT_EQ(load_dataset("idx:" + ip).train.size(), 7);  // labels found by name
  }
}

TEST(Idx, FourDimensionalImagesKeepTheirChannels) {
  TempDir dir;
  write_idx(dir.file("i"), random_bytes({3, 2, 4, 4}, 3));
  write_idx(dir.file("l"), random_bytes({3}, 4));
  EXPECT_EQ(load_idx(dir.file("i"), dir.file("l")).images.sizes(), (std::vector<int64_t>{3, 2, 4, 4}));
}

class IdxCorrupt : public ::testing::Test {
 protected:
  void SetUp() override {
    write_idx(dir.file("images"), random_bytes({4, 3, 3}, 5));
    write_idx(dir.file("labels"), random_bytes({4}, 6));
    bytes = slurp("images");
  }
  std::string slurp(const std::string& name) { return testing::slurp(dir.file(name)); }
  std::string load() { return data_error([&] { load_idx(dir.file("bad"), dir.file("labels")); }); }
  TempDir dir;
  std::string bytes;
};

TEST_F(IdxCorrupt, WrongMagicNumber) {
  auto b = bytes;
  b[0] = 0x1a;
  dir.write("bad", b);
  const auto msg = load();
  EXPECT_NE(msg.find(dir.file("bad") + ": byte 0: bad magic number 0x1a000803"), std::string::npos) << msg;
}

TEST_F(IdxCorrupt, UnsupportedElementType) {
  auto b = bytes;
  b[2] = 0x0d;
  dir.write("bad", b);
  EXPECT_NE(load().find("byte 2: element type 0x0d"), std::string::npos);
}

TEST_F(IdxCorrupt, TruncatedData) {
  dir.write("bad", bytes.substr(0, bytes.size() - 5));
  const auto msg = load();
  EXPECT_NE(msg.find(": byte 47: truncated: the header promises 36 bytes"), std::string::npos) << msg;
}

TEST_F(IdxCorrupt, TruncatedGzipData) {
  const auto raw = bytes.substr(0, bytes.size() - 5);
  data::write_file_bytes(dir.file("bad"), reinterpret_cast<const uint8_t*>(raw.data()), raw.size(), true);
  EXPECT_NE(load().find("truncated"), std::string::npos);
}

TEST_F(IdxCorrupt, CorruptGzipStream) {
  const auto good = bytes;
  data::write_file_bytes(dir.file("gz"), reinterpret_cast<const uint8_t*>(good.data()), good.size(), true);
  auto gz = slurp("gz");
  gz = gz.substr(0, gz.size() / 2);  // cut the deflate stream
  dir.write("bad", gz);
  const auto msg = load();
  EXPECT_NE(msg.find(dir.file("bad")), std::string::npos) << msg;
}

TEST_F(IdxCorrupt, TrailingBytes) {
  dir.write("bad", bytes + "xyz");
  EXPECT_NE(load().find("byte 52: 3 unexpected bytes"), std::string::npos);
}

TEST_F(IdxCorrupt, ImageAndLabelCountsDiffer) {
  write_idx(dir.file("bad"), random_bytes({5, 3, 3}, 7));
  const auto msg = load();
  EXPECT_NE(msg.find("5 images but"), std::string::npos) << msg;
  EXPECT_NE(msg.find("4 labels"), std::string::npos) << msg;
}

TEST_F(IdxCorrupt, WrongDimensions) {
  write_idx(dir.file("bad"), random_bytes({4, 9}, 8));
  EXPECT_NE(load().find("2 dimensions, expected 3 (N, H, W) or 4"), std::string::npos);
  const auto msg = data_error([&] { load_idx(dir.file("images"), dir.file("images")); });
  EXPECT_NE(msg.find("expected 1 for labels"), std::string::npos) << msg;
}

TEST_F(IdxCorrupt, TooShortAndMissing) {
  dir.write("bad", std::string("\0\0", 2));
  EXPECT_NE(load().find("byte 0: 2 bytes, too short"), std::string::npos);
  const auto msg = data_error([&] { load_idx(dir.file("nope"), dir.file("labels")); });
  EXPECT_NE(msg.find(dir.file("nope") + ": no such file"), std::string::npos) << msg;
}

Dataset random_cifar(int64_t n, uint64_t seed) {
  return {random_bytes({n, 3, 32, 32}, seed).to(torch::kFloat32) / 255,
          random_bytes({n}, seed + 1).remainder(10).to(torch::kInt64)};
}

TEST(Cifar, BatchesRoundTripAndGreyIsBt601) {
  TempDir dir;
  std::vector<Dataset> parts;
  for (int b = 1; b <= 5; ++b) {
    parts.push_back(random_cifar(3, b * 10));
    write_cifar10_batch(dir.file("data_batch_" + std::to_string(b) + ".bin"), parts.back());
  }
  const auto test = random_cifar(2, 99);
  write_cifar10_batch(dir.file("test_batch.bin"), test);
  const auto colour = load_cifar10(dir.path().string(), false);
  EXPECT_EQ(colour.train.size(), 15);
  EXPECT_TRUE(torch::allclose(colour.train.images, Dataset::concat(parts).images));
  EXPECT_TRUE(torch::equal(colour.test.labels, test.labels));
  const auto grey = load_dataset("cifar10-bw:" + dir.path().string());
  EXPECT_EQ(grey.train.images.sizes(), (std::vector<int64_t>{15, 1, 32, 32}));
  const auto& rgb = colour.test.images;
  const auto expected = 0.299 * rgb.select(1, 0) + 0.587 * rgb.select(1, 1) + 0.114 * rgb.select(1, 2);
  EXPECT_TRUE(torch::allclose(grey.test.images.squeeze(1), expected, 1e-6, 1e-6));
}

TEST(Cifar, CorruptBatches) {
  TempDir dir;
  write_cifar10_batch(dir.file("ok.bin"), random_cifar(2, 1));
  auto bytes = testing::slurp(dir.file("ok.bin"));
  dir.write("short.bin", bytes.substr(0, bytes.size() - 100));
  auto msg = data_error([&] { load_cifar10_batch(dir.file("short.bin")); });
  EXPECT_NE(msg.find("short.bin: byte 3073: truncated record 1 (2973 of 3073 bytes)"), std::string::npos) << msg;
  bytes[3073] = 12;
  dir.write("label.bin", bytes);
  msg = data_error([&] { load_cifar10_batch(dir.file("label.bin")); });
  EXPECT_NE(msg.find("label.bin: byte 3073: label 12 of record 1 is outside 0..9"), std::string::npos) << msg;
  msg = data_error([&] { load_cifar10(dir.path().string(), true); });
  EXPECT_NE(msg.find("data_batch_1.bin: no such file"), std::string::npos) << msg;
}

TEST(Amat, RoundTripsExactly) {
  TempDir dir;
  torch::manual_seed(3);
  const Dataset d{torch::rand({6, 1, 28, 28}), torch::randint(0, 10, {6}, torch::kInt64)};
  write_amat(dir.file("d.amat"), d);
  const auto back = load_amat(dir.file("d.amat"));
  EXPECT_TRUE(torch::equal(back.images, d.images));  // shortest round-trip float text
  EXPECT_TRUE(torch::equal(back.labels, d.labels));
  dir.write("row.amat", "0 0.5 1 2\n1 1 0 0\n\n");
  const auto row = load_amat(dir.file("row.amat"));
  EXPECT_EQ(row.images.sizes(), (std::vector<int64_t>{2, 1, 1, 3}));
  EXPECT_EQ(row.labels[0].item<int64_t>(), 2);
}

TEST(Amat, CorruptLines) {
  TempDir dir;
  const auto err = [&](const std::string& text) {
    dir.write("x.amat", text);
    return data_error([&] { load_amat(dir.file("x.amat")); });
  };
  const auto f = dir.file("x.amat");
  EXPECT_NE(err("0 0.5 1\n0 abc 1\n").find(f + ":2: non-numeric value 'abc' in column 2"), std::string::npos);
  EXPECT_NE(err("0 0.5 1\n0 1\n").find(f + ":2: 2 values, expected 3 like the first example"), std::string::npos);
  EXPECT_NE(err("0 0.5 1\n\n0 1 0.2 3\n").find(f + ":3: 4 values, expected 3"), std::string::npos);
  EXPECT_NE(err("0 0.5 2.5\n").find(f + ":1: label 2.5 is not a non-negative integer"), std::string::npos);
  // Real values (standardized inputs) load; only non-numbers are refused.
  dir.write("real.amat", "-1.5 2.25 1\n0.5 -3 0\n");
  const auto real = load_amat(dir.file("real.amat"));
  EXPECT_FLOAT_EQ(real.images.flatten()[0].item<float>(), -1.5f);
  EXPECT_FLOAT_EQ(real.images.flatten()[3].item<float>(), -3.0f);
  EXPECT_NE(err("\n\n").find(f + ":1: no examples"), std::string::npos);
  EXPECT_NE(err("0 nan 1\n").find("non-numeric value 'nan'"), std::string::npos);
  const auto msg = data_error([&] { load_amat(dir.file("missing.amat")); });
  EXPECT_NE(msg.find("missing.amat: no such file"), std::string::npos);
}

TEST(Catalog, UnknownNamesAndFormatsAreClear) {
  auto msg = data_error([] { load_dataset("mnits"); });
  EXPECT_NE(msg.find("unknown dataset 'mnits'"), std::string::npos) << msg;
  TempDir dir;
  dir.write("blob.bin", "hello");
  msg = data_error([&] { load_dataset(dir.file("blob.bin")); });
  EXPECT_NE(msg.find("cannot tell the format"), std::string::npos) << msg;
}

TEST(Catalog, DataInfoFailsCleanlyOnACorruptFile) {
  TempDir dir;
  dir.write("bad.amat", "0 0.5 1\n0 x 1\n");
  const auto r = testing::run_carve("data info '" + dir.file("bad.amat") + "'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(testing::count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find(dir.file("bad.amat") + ":2: non-numeric value 'x'"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

}  // namespace
}  // namespace carve

namespace carve {
namespace {

// Every corrupt-file case from the command line: exit code 2, one line naming the file.
TEST(DataInfoCli, EveryCorruptFileFailsCleanly) {
  TempDir dir;
  write_idx(dir.file("good-images-idx3-ubyte"), random_bytes({4, 3, 3}, 1));
  write_idx(dir.file("good-labels-idx1-ubyte"), random_bytes({4}, 2));
  const auto good = testing::slurp(dir.file("good-images-idx3-ubyte"));
  auto magic = good;
  magic[1] = 7;
  dir.write("magic-images-idx3-ubyte", magic);
  dir.write("trunc-images-idx3-ubyte", good.substr(0, 30));
  write_idx(dir.file("count-images-idx3-ubyte"), random_bytes({6, 3, 3}, 3));
  write_idx(dir.file("dims-images-idx3-ubyte"), random_bytes({4, 9}, 4));
  dir.write("nan.amat", "0 1 1\n0 q 1\n");
  dir.write("short.amat", "0 1 1\n0 1\n");
  const std::vector<std::pair<std::string, std::string>> cases{
      {"idx:" + dir.file("magic-images-idx3-ubyte") + "," + dir.file("good-labels-idx1-ubyte"), "bad magic number"},
      {"idx:" + dir.file("trunc-images-idx3-ubyte") + "," + dir.file("good-labels-idx1-ubyte"), "byte 30: truncated"},
      {"idx:" + dir.file("count-images-idx3-ubyte") + "," + dir.file("good-labels-idx1-ubyte"), "6 images but"},
      {"idx:" + dir.file("dims-images-idx3-ubyte") + "," + dir.file("good-labels-idx1-ubyte"), "2 dimensions"},
      {"amat:" + dir.file("nan.amat"), "nan.amat:2: non-numeric value 'q'"},
      {"amat:" + dir.file("short.amat"), "short.amat:2: 2 values, expected 3"},
      {"amat:" + dir.file("none.amat"), "none.amat: no such file"},
  };
  for (const auto& [spec, expected] : cases) {
    const auto r = testing::run_carve("data info '" + spec + "'");
    EXPECT_EQ(r.exit_code, 2) << spec;
    EXPECT_EQ(testing::count_lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  const auto ok = testing::run_carve("data info --format json 'idx:" + dir.file("good-images-idx3-ubyte") + "'");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("\"examples\": 4"), std::string::npos) << ok.out;
}

}  // namespace
}  // namespace carve
