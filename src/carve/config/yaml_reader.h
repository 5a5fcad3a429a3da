// Typed reads of a YAML mapping with errors at FILE:LINE:COL, and unknown keys reported with
// the closest known one. Every key a reader is asked for counts as known; finish() reports the
// rest, so a typo can never silently do nothing.
//
//   carve::config::MapReader data(root, "exp.yaml", "data");
//   auto valid = data.get<int64_t>("valid", 0);
//   if (valid < 0) data.fail("valid", "must be >= 0");
//   data.finish();   // exp.yaml:4:3: unknown key 'vaild' in data (did you mean 'valid'?)
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "carve/error.h"

namespace carve::config {

// Edit distance, for suggestions.
size_t edit_distance(const std::string& a, const std::string& b);
// The closest of `candidates` to `word`, or empty when none is close.
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

/// Reads the keys of one YAML mapping (a section of an experiment file): typed values, defaults
/// for absent keys, errors at FILE:LINE:COL (or naming the --set assignment), unknown keys with
/// the closest valid one.
class MapReader {
 public:
  // `node` may be undefined or null (an absent section: every key takes its default).
  // `overridden` holds the dotted paths that --set assignments replaced (their errors name the
  // assignment instead of a line).
  MapReader(YAML::Node node, std::string file, std::string path,
            std::shared_ptr<const std::set<std::string>> overridden = nullptr);

  bool has(const std::string& key) const;
  YAML::Node node(const std::string& key);  // marks the key known

  template <typename T>
  T get(const std::string& key, const T& fallback) {
    const auto n = node(key);
    if (!n.IsDefined() || n.IsNull()) return fallback;
    return convert<T>(key, n);
  }
  template <typename T>
  T require(const std::string& key) {
    const auto n = node(key);
    if (!n.IsDefined() || n.IsNull()) fail_here(fmt_missing(key));
    return convert<T>(key, n);
  }
  // A string that must be one of `choices`.
  std::string choice(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& choices);
  MapReader map(const std::string& key);

  std::string where(const std::string& key) const;  // FILE:LINE:COL of the key's value
  std::string dotted(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  const std::string& file() const { return file_; }
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;
  void finish() const;

 private:
  template <typename T>
  T convert(const std::string& key, const YAML::Node& n) const;
  std::string fmt_missing(const std::string& key) const;
  [[noreturn]] void fail_here(const std::string& message) const;

  std::string locate(const YAML::Node& node, const std::string& path) const;

  YAML::Node node_;
  std::string file_, path_;
  std::set<std::string> known_;
  std::shared_ptr<const std::set<std::string>> overridden_;
};

template <> std::string MapReader::convert<std::string>(const std::string&, const YAML::Node&) const;
template <> int64_t MapReader::convert<int64_t>(const std::string&, const YAML::Node&) const;
template <> uint64_t MapReader::convert<uint64_t>(const std::string&, const YAML::Node&) const;
template <> double MapReader::convert<double>(const std::string&, const YAML::Node&) const;
template <> bool MapReader::convert<bool>(const std::string&, const YAML::Node&) const;

// Location of a node: FILE:LINE:COL, or "FILE: --set PATH" for a path that an override set
// (or a node without a mark).
std::string location(const std::string& file, const YAML::Node& node, const std::string& path,
                     const std::set<std::string>* overridden = nullptr);

// An error message about a key that an override set ("FILE: --set KEY: ...") located where the
// override came from instead (origins: KEY -> "FILE:LINE:COL", the key in a sweep or suite block).
std::string relocate_overrides(const std::string& message, const std::map<std::string, std::string>& origins);

// What a YAML text may be before yaml-cpp sees it: yaml-cpp parses nested collections by
// recursion without a limit (a file of 100,000 '[' overflows the stack), so carve bounds the
// size and the nesting first. An experiment file is a few kilobytes, nested a few levels.
constexpr size_t kMaxYamlBytes = 1 << 20;
constexpr int kMaxYamlDepth = 64;

// Parses YAML text from `where` (a file, or "--set KEY"), within the bounds above; a violation or
// a syntax error is a ConfigError at WHERE:LINE:COL.
YAML::Node parse_yaml(const std::string& text, const std::string& where);

// Runs a reader of parsed YAML and turns a yaml-cpp exception escaping it — a node of another
// kind than the reader expected, such as a mapping where a key's name belongs — into a
// ConfigError at the node's place. Every reader entry point (experiment, suite, stack) goes
// through it, so that nothing but carve's errors leaves a reader.
template <class Read>
auto guard_yaml(const std::string& file, Read&& read) -> decltype(read()) {
  try {
    return read();
  } catch (const YAML::Exception& e) {
    const std::string what = "not what carve reads here (" + e.msg + "): expected a name or a value";
    if (e.mark.is_null()) throw ConfigError(file + ": " + what);
    throw ConfigError(file, e.mark.line + 1, e.mark.column + 1, what);
  }
}

// The text of a YAML file: a missing file, or one beyond kMaxYamlBytes, is a ConfigError (the
// size checked before it is read).
std::string read_yaml_text(const std::string& file);

// Parses a YAML file (read_yaml_text, parse_yaml).
YAML::Node load_yaml_file(const std::string& file);

// Applies `key.path=value` (value parsed as YAML) to `root`; returns the dotted path. Throws
// UsageError if malformed.
std::string apply_override(YAML::Node& root, const std::string& assignment);

}  // namespace carve::config
