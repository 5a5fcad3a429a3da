// Whether two run trees hold the same results: every CSV cell but the wall-clock seconds, every
// JSON value but times, command lines and the tree's own path, every parameter of encoder.pt and
// classifier.pt. For the tests that stop, fail or move runs and compare them with a straight run.
#pragma once

#include <gtest/gtest.h>
#include <torch/script.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "support/csv.h"
#include "support/run_command.h"

namespace carve::testing {

inline void expect_same_csv(const std::string& a, const std::string& b, const std::string& rel) {
  const auto ca = parse_csv_strict(slurp(a)), cb = parse_csv_strict(slurp(b));
  ASSERT_EQ(ca.header, cb.header) << rel;
  ASSERT_EQ(ca.rows.size(), cb.rows.size()) << rel;
  for (size_t r = 0; r < ca.rows.size(); ++r)
    for (size_t c = 0; c < ca.header.size(); ++c)
      if (ca.header[c] != "seconds") EXPECT_EQ(ca.rows[r][c], cb.rows[r][c]) << rel << " row " << r + 1 << " " << ca.header[c];
}

// summary.json and friends without wall-clock times, command lines and the tree's own path.
inline std::string normalized_json(const std::filesystem::path& file, const std::filesystem::path& root) {
  auto j = nlohmann::json::parse(slurp(file.string()));
  std::function<void(nlohmann::json&)> strip = [&](nlohmann::json& v) {
    if (v.is_object()) {
      v.erase("seconds");
      v.erase("command_line");
      for (auto& [k, x] : v.items()) strip(x);
    } else if (v.is_array()) {
      for (auto& x : v) strip(x);
    } else if (v.is_string()) {
      auto s = v.get<std::string>();
      if (s.rfind(root.string(), 0) == 0) v = s.substr(root.string().size());
    }
  };
  strip(j);
  return j.dump(1);
}

// Every result file of tree `a` is in tree `b` with the same content.
inline void expect_same_results(const std::filesystem::path& a, const std::filesystem::path& b) {
  namespace fs = std::filesystem;
  int compared = 0;
  for (const auto& entry : fs::recursive_directory_iterator(a)) {
    const auto rel = fs::relative(entry.path(), a);
    const auto other = b / rel;
    const auto ext = entry.path().extension().string();
    if (ext != ".csv" && ext != ".json" && rel.filename() != "encoder.pt" && rel.filename() != "classifier.pt") continue;
    ASSERT_TRUE(fs::exists(other)) << rel;
    ++compared;
    if (ext == ".csv") {
      expect_same_csv(entry.path().string(), other.string(), rel.string());
    } else if (ext == ".json") {
      EXPECT_EQ(normalized_json(entry.path(), a), normalized_json(other, b)) << rel;
    } else {
      auto ma = torch::jit::load(entry.path().string()), mb = torch::jit::load(other.string());
      const auto pa = ma.named_parameters(), pb = mb.named_parameters();
      auto ib = pb.begin();
      for (const auto& p : pa) {
        ASSERT_NE(ib, pb.end()) << rel;
        EXPECT_EQ(p.name, (*ib).name) << rel;
        EXPECT_TRUE(torch::equal(p.value, (*ib).value)) << rel << " " << p.name;
        ++ib;
      }
    }
  }
  EXPECT_GT(compared, 3);
}

}  // namespace carve::testing
