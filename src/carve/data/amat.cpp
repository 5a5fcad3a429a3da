#include "carve/data/amat.h"

#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <cmath>

#include "carve/data/file_bytes.h"
#include "carve/error.h"

namespace carve {

namespace {
// Labels are classes, numbered from 0; a float holds every integer exactly up to 2^24.
constexpr float kMaxLabel = 1 << 24;
}  // namespace

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

}  // namespace

Dataset load_amat(const std::string& path) {
  const auto bytes = data::read_file_bytes(path);
  const char* p = reinterpret_cast<const char*>(bytes.data());
  const char* end = p + bytes.size();
  std::vector<float> values;
  std::vector<int64_t> labels;
  int64_t columns = -1;
  int64_t line = 0;
  std::vector<float> row;
  while (p < end) {
    ++line;
    const char* eol = static_cast<const char*>(std::memchr(p, '\n', end - p));
    if (!eol) eol = end;
    row.clear();
    const char* q = p;
    while (q < eol) {
      while (q < eol && is_space(*q)) ++q;
      if (q == eol) break;
      const char* token = q;
      while (q < eol && !is_space(*q)) ++q;
      float v = 0;
      const auto [ptr, ec] = std::from_chars(token, q, v);
      if (ec != std::errc() || ptr != q || !std::isfinite(v)) {
        throw DataError(fmt::format("{}:{}: non-numeric value '{}' in column {}", path, line,
                                    std::string(token, q), row.size() + 1));
      }
      row.push_back(v);
    }
    p = eol + 1;
    if (row.empty()) continue;  // blank lines (a trailing newline) are not examples
    if (columns < 0) {
      if (row.size() < 2) {
        throw DataError(fmt::format("{}:{}: {} value; an example needs pixels and a label", path,
                                    line, row.size()));
      }
      columns = static_cast<int64_t>(row.size());
    } else if (static_cast<int64_t>(row.size()) != columns) {
      throw DataError(fmt::format("{}:{}: {} values, expected {} like the first example", path,
                                  line, row.size(), columns));
    }
    const float label = row.back();
    if (!(label >= 0) || label != std::floor(label)) {
      throw DataError(fmt::format("{}:{}: label {} is not a non-negative integer", path, line, label));
    }
    if (label >= kMaxLabel) {  // one output per class follows from it: bound before anything is sized by it
      throw DataError(fmt::format("{}:{}: label {} is beyond carve's largest class ({})", path, line, label, kMaxLabel - 1));
    }
    // Real values are welcome (standardized inputs, say); only non-numbers are refused.
    for (int64_t c = 0; c + 1 < columns; ++c) {
      if (!std::isfinite(row[c])) {
        throw DataError(fmt::format("{}:{}: value {} in column {} is not a finite number", path, line, row[c], c + 1));
      }
    }
    labels.push_back(static_cast<int64_t>(label));
    values.insert(values.end(), row.begin(), row.end() - 1);
  }
  if (labels.empty()) throw DataError(fmt::format("{}:1: no examples in the file", path));
  const int64_t n = static_cast<int64_t>(labels.size());
  const int64_t pixels = columns - 1;
  const auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(pixels))));
  const std::vector<int64_t> shape = side * side == pixels ? std::vector<int64_t>{n, 1, side, side}
                                                           : std::vector<int64_t>{n, 1, 1, pixels};
  return {torch::from_blob(values.data(), shape, torch::kFloat32).clone(),
          torch::from_blob(labels.data(), {n}, torch::kInt64).clone()};
}

void write_amat(const std::string& path, const Dataset& d) {
  const auto flat = d.flat().to(torch::kFloat32).contiguous();
  const auto labels = d.labels.to(torch::kInt64).contiguous();
  const int64_t n = flat.size(0), pixels = flat.size(1);
  const float* v = flat.data_ptr<float>();
  std::string out;
  out.reserve(static_cast<size_t>(n * pixels * 9));
  char buf[32];
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < pixels; ++c) {
      // Shortest representation that reads back to the same float.
      const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v[i * pixels + c]);
      out.append(buf, ptr);
      out.push_back(' ');
    }
    out.append(std::to_string(labels.data_ptr<int64_t>()[i]));
    out.push_back('\n');
  }
  data::write_text_file(path, out);
}

}  // namespace carve
