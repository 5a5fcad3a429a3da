#include "carve/config/yaml_reader.h"

#include "carve/data/file_bytes.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>

namespace carve::config {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::numeric_limits<size_t>::max();
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_d) best_d = d, best = c;
  }
  // Close enough to be a typo: a third of the word, at least two edits.
  return best_d <= std::max<size_t>(2, word.size() / 3) ? best : std::string();
}

std::string location(const std::string& file, const YAML::Node& node, const std::string& path,
                     const std::set<std::string>* overridden) {
  const auto mark = node.Mark();
  if ((overridden && overridden->count(path)) || mark.is_null() || mark.line < 0) {
    return fmt::format("{}: --set {}", file, path);
  }
  return fmt::format("{}:{}:{}", file, mark.line + 1, mark.column + 1);
}

std::string relocate_overrides(const std::string& message, const std::map<std::string, std::string>& origins) {
  for (const auto& [key, origin] : origins) {
    const auto needle = ": --set " + key;
    const auto at = message.find(needle);
    if (at == std::string::npos || origin.empty()) continue;
    const auto end = at + needle.size();
    if (end < message.size() && message[end] != ':') continue;  // a longer key that starts with this one
    return origin + message.substr(end);
  }
  return message;
}

MapReader::MapReader(YAML::Node node, std::string file, std::string path,
                     std::shared_ptr<const std::set<std::string>> overridden)
    : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)), overridden_(std::move(overridden)) {
  if (node_.IsDefined() && !node_.IsNull() && !node_.IsMap()) {
    throw ConfigError(fmt::format("{}: {} must be a mapping of keys to values", locate(node_, path_),
                                  path_.empty() ? "the file" : path_));
  }
  // yaml-cpp keeps one of two equal keys without a word: a second value would silently vanish.
  if (node_.IsMap()) {
    std::map<std::string, YAML::Node> seen;
    for (const auto& kv : node_) {
      const auto key = kv.first.as<std::string>();
      const auto [it, fresh] = seen.emplace(key, kv.first);
      if (!fresh) {
        const auto first = it->second.Mark();
        throw ConfigError(fmt::format("{}: duplicate key '{}'{} (first at line {})", locate(kv.first, dotted(key)), key,
                                      path_.empty() ? "" : " in " + path_, first.line + 1));
      }
    }
  }
}

std::string MapReader::locate(const YAML::Node& node, const std::string& path) const {
  return location(file_, node, path, overridden_.get());
}

bool MapReader::has(const std::string& key) const {
  return node_.IsMap() && node_[key].IsDefined() && !node_[key].IsNull();
}

YAML::Node MapReader::node(const std::string& key) {
  known_.insert(key);
  if (!node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  return node_[key];
}

std::string MapReader::where(const std::string& key) const {
  if (node_.IsMap() && node_[key].IsDefined()) return locate(node_[key], dotted(key));
  if (node_.IsDefined()) return locate(node_, path_);
  return file_ + ":1:1";
}

void MapReader::fail(const std::string& key, const std::string& message) const {
  throw ConfigError(fmt::format("{}: {}: {}", where(key), dotted(key), message));
}

void MapReader::fail_here(const std::string& message) const {
  throw ConfigError(fmt::format("{}: {}", node_.IsDefined() ? locate(node_, path_) : file_ + ":1:1", message));
}

std::string MapReader::fmt_missing(const std::string& key) const {
  // A missing key is most often a misspelt one: report the typo where it stands.
  if (node_.IsMap()) {
    for (const auto& kv : node_) {
      const auto other = kv.first.as<std::string>();
      if (!known_.count(other) && closest(other, {key}) == key) {
        throw ConfigError(fmt::format("{}: unknown key '{}'{} (did you mean '{}'?)", locate(kv.first, dotted(other)),
                                      other, path_.empty() ? "" : " in " + path_, key));
      }
    }
  }
  return fmt::format("missing required key '{}'{}", dotted(key), path_.empty() ? "" : " in " + path_);
}

std::string MapReader::choice(const std::string& key, const std::string& fallback,
                              const std::vector<std::string>& choices) {
  const auto value = get<std::string>(key, fallback);
  if (std::find(choices.begin(), choices.end(), value) == choices.end()) {
    const auto hint = closest(value, choices);
    fail(key, fmt::format("unknown value '{}' (expected one of: {}){}", value, fmt::join(choices, ", "),
                          hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint)));
  }
  return value;
}

MapReader MapReader::map(const std::string& key) { return MapReader(node(key), file_, dotted(key), overridden_); }

void MapReader::finish() const {
  if (!node_.IsMap()) return;
  for (const auto& kv : node_) {
    const auto key = kv.first.as<std::string>();
    if (known_.count(key)) continue;
    const auto hint = closest(key, std::vector<std::string>(known_.begin(), known_.end()));
    throw ConfigError(fmt::format("{}: unknown key '{}'{}{}", locate(kv.first, dotted(key)), key,
                                  path_.empty() ? "" : " in " + path_,
                                  hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
  }
}

namespace {
std::string scalar_text(const YAML::Node& n) {
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  return n.IsSequence() ? "a list" : n.IsMap() ? "a mapping" : "nothing";
}
}  // namespace

template <>
std::string MapReader::convert<std::string>(const std::string& key, const YAML::Node& n) const {
  if (!n.IsScalar()) fail(key, fmt::format("expected a string, got {}", scalar_text(n)));
  return n.Scalar();
}

template <>
int64_t MapReader::convert<int64_t>(const std::string& key, const YAML::Node& n) const {
  int64_t v = 0;
  if (!n.IsScalar() || !YAML::convert<int64_t>::decode(n, v)) {
    fail(key, fmt::format("expected an integer, got {}", scalar_text(n)));
  }
  return v;
}

template <>
uint64_t MapReader::convert<uint64_t>(const std::string& key, const YAML::Node& n) const {
  const auto v = convert<int64_t>(key, n);
  if (v < 0) fail(key, fmt::format("expected a non-negative integer, got {}", v));
  return static_cast<uint64_t>(v);
}

template <>
double MapReader::convert<double>(const std::string& key, const YAML::Node& n) const {
  double v = 0;
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !std::isfinite(v)) {
    fail(key, fmt::format("expected a number, got {}", scalar_text(n)));
  }
  return v;
}

template <>
bool MapReader::convert<bool>(const std::string& key, const YAML::Node& n) const {
  bool v = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
    fail(key, fmt::format("expected true or false, got {}", scalar_text(n)));
  }
  return v;
}

namespace {

// The deepest nesting of a YAML text, over-estimated cheaply: flow brackets outside quotes and
// comments, plus block levels (each needs one more column of indentation or a "- " entry).
// Throws at the first place deeper than kMaxYamlDepth.
void check_nesting(const std::string& text, const std::string& where) {
  int flow = 0, line = 1, column = 0, indent = 0, dashes = 0;
  bool at_start = true, comment = false;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    ++column;
    if (c == '\n') {
      ++line, column = 0, indent = 0, dashes = 0, at_start = true, comment = false;
      continue;  // a quoted scalar may span lines: `quote` stays
    }
    if (comment) continue;
    if (at_start) {
      if (c == ' ') { ++indent; continue; }
      if (c == '-' && i + 1 < text.size() && (text[i + 1] == ' ' || text[i + 1] == '\n')) { ++dashes; ++indent; continue; }
      at_start = false;
      // Each block level takes a column of indentation at least; a run of "- " opens one each.
      if (indent + dashes > 4 * kMaxYamlDepth || dashes > kMaxYamlDepth) {
        throw ConfigError(where, line, column, fmt::format("nested deeper than carve reads ({} levels)", kMaxYamlDepth));
      }
    }
    if (quote != 0) {
      if (c == quote && !(quote == '"' && i > 0 && text[i - 1] == '\\')) quote = 0;
      continue;
    }
    if (c == '#' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t')) { comment = true; continue; }
    // A quote opens a quoted scalar only where a scalar starts ("don't" is plain text).
    if ((c == '"' || c == '\'') && (i == 0 || std::string(" \t[{,:").find(text[i - 1]) != std::string::npos)) {
      quote = c;
      continue;
    }
    if (c == '[' || c == '{') {
      if (++flow > kMaxYamlDepth) {
        throw ConfigError(where, line, column, fmt::format("nested deeper than carve reads ({} levels)", kMaxYamlDepth));
      }
    } else if ((c == ']' || c == '}') && flow > 0) {
      --flow;
    }
  }
}

}  // namespace

namespace {

void refuse_size(const std::string& where, uintmax_t bytes) {
  if (bytes > kMaxYamlBytes) {
    throw ConfigError(fmt::format("{}: {} bytes; an experiment file is at most {} (is it the right file?)", where, bytes,
                                  kMaxYamlBytes));
  }
}

}  // namespace

YAML::Node parse_yaml(const std::string& text, const std::string& where) {
  refuse_size(where, text.size());
  check_nesting(text, where);
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(where, e.mark.line + 1, e.mark.column + 1, "YAML syntax error: " + e.msg);
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}: YAML error: {}", where, e.msg));
  }
}

std::string read_yaml_text(const std::string& file) {
  std::error_code ec;  // a name too long for the system is "no such file", not an exception
  if (!std::filesystem::is_regular_file(file, ec)) throw ConfigError(fmt::format("{}: no such file", file));
  refuse_size(file, std::filesystem::file_size(file, ec));  // before reading it all
  return data::read_text_file(file);
}

YAML::Node load_yaml_file(const std::string& file) { return parse_yaml(read_yaml_text(file), file); }

std::string apply_override(YAML::Node& root, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw UsageError(fmt::format("--set '{}': expected key.path=value", assignment));
  }
  const std::string path = assignment.substr(0, eq);
  YAML::Node value;
  try {
    value = parse_yaml(assignment.substr(eq + 1), "--set " + assignment.substr(0, eq));
  } catch (const ConfigError& e) {
    throw UsageError(fmt::format("--set '{}': the value is not valid YAML: {}", assignment, e.what()));
  }
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    const auto dot = path.find('.', start);
    parts.push_back(path.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  // Walk with explicit node copies: yaml-cpp's operator[] on a copy aliases the same node.
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node parent = chain.back();
    if (parent.IsDefined() && !parent.IsNull() && !parent.IsMap()) {
      throw UsageError(fmt::format("--set '{}': '{}' is not a mapping", assignment, parts[i - 1]));
    }
    if (!parent[parts[i]].IsDefined() || parent[parts[i]].IsNull()) parent[parts[i]] = YAML::Node(YAML::NodeType::Map);
    chain.push_back(parent[parts[i]]);
  }
  YAML::Node parent = chain.back();
  parent[parts.back()] = value;
  return path;
}

}  // namespace carve::config
