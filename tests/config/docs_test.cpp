// docs/CONFIG.md shows exactly the key tables that the key declarations print
// (`carve config docs`): every printed block is in the file, and the file has no key table
// row that the declarations do not print.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "carve/config/experiment.h"

namespace carve {
namespace {

const char* kHeader = "| key | type | default | range | on resume | meaning |";

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) out.push_back(line);
  return out;
}

// The rows of every table with the generated header, in order.
std::vector<std::string> key_rows(const std::string& text) {
  std::vector<std::string> rows;
  bool in_table = false;
  for (const auto& line : lines(text)) {
    if (line == kHeader) {
      in_table = true;
    } else if (in_table && line.rfind("|-", 0) == 0) {
      continue;
    } else if (in_table && line.rfind("| ", 0) == 0) {
      rows.push_back(line);
    } else {
      in_table = false;
    }
  }
  return rows;
}

TEST(ConfigDocs, ConfigMdHoldsExactlyThePrintedTables) {
  std::ifstream in(std::string(CARVE_TEST_SOURCE_DIR) + "/docs/CONFIG.md");
  ASSERT_TRUE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  const auto doc = ss.str();
  const auto printed = config_docs();
  // Block by block (prose may stand between them).
  size_t start = 0, blocks = 0;
  while (start < printed.size()) {
    auto end = printed.find("\n\nKeys of ", start);
    end = end == std::string::npos ? printed.size() : end + 1;
    const auto block = printed.substr(start, end - start);
    EXPECT_NE(doc.find(block), std::string::npos)
        << "docs/CONFIG.md lacks this block of `carve config docs` (regenerate: tools/docs/update_config_md.py):\n" << block;
    ++blocks;
    start = end + 1;
  }
  EXPECT_GE(blocks, 10u);
  EXPECT_EQ(key_rows(doc), key_rows(printed)) << "docs/CONFIG.md has key rows the declarations do not print";
}

TEST(ConfigDocs, EveryKeyHasTypeDefaultAndDoc) {
  for (const auto& row : key_rows(config_docs())) {
    EXPECT_EQ(row.find("|  |"), std::string::npos) << "an empty cell: " << row;
  }
}

}  // namespace
}  // namespace carve
