#include "carve/config/schema.h"

#include <cmath>

namespace carve::config {

std::string to_string(Resume rule) {
  switch (rule) {
    case Resume::must_match: return "must match";
    case Resume::may_grow: return "may grow";
    case Resume::free: return "free";
  }
  return "?";
}

std::string number_text(double v) {
  if (std::isnan(v)) return ".nan";
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  // fmt's default for a double is the shortest text that reads back as the same value.
  auto text = fmt::format("{}", v);
  // YAML 1.2 reads "1e-05" as a number, but a plain integer-looking text would read back as an
  // integer key type in other tools: keep a decimal point or exponent.
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  return text;
}

Range<std::string> directory_name(const std::string& problem) {
  return {"a directory name", [problem](const std::string& v) -> std::optional<std::string> {
            if (v.empty() || v.find_first_of("/\\") != std::string::npos || v == "." || v == "..") {
              return fmt::format("'{}' {}", v, problem);
            }
            return std::nullopt;
          }};
}

Range<double> interval(double low, double high, bool open_left, bool open_right) {
  const auto text = fmt::format("{}{}, {}{}", open_left ? "(" : "[", low, high, open_right ? ")" : "]");
  return {text, [=](const double& v) -> std::optional<std::string> {
            const bool ok = (open_left ? v > low : v >= low) && (open_right ? v < high : v <= high);
            if (ok) return std::nullopt;
            return fmt::format("must be in {}, got {}", text, v);
          }};
}

namespace {
std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}
}  // namespace

std::string docs_markdown(const std::vector<DocTable>& tables) {
  std::string out;
  for (const auto& t : tables) {
    if (!out.empty()) out += "\n";
    out += fmt::format("Keys of {}: {}\n\n", t.path.empty() ? "the top level" : "`" + t.path + "`", t.doc);
    out += "| key | type | default | range | on resume | meaning |\n";
    out += "|-----|------|---------|-------|-----------|---------|\n";
    for (const auto& k : t.rows) {
      out += fmt::format("| `{}` | {} | {} | {} | {} | {} |\n", k.key, k.type, cell(k.default_value), cell(k.range),
                         k.type == "mapping" ? "by key" : to_string(k.resume), cell(k.doc));
    }
  }
  return out;
}

}  // namespace carve::config
