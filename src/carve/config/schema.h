/// The configuration as data: every key of an experiment file is declared once, in a table of
/// `Key`s — name, type, default, range, one line of doc, and its resume rule — and that one
/// declaration drives reading (FILE:LINE:COL errors, did-you-mean), writing the resolved YAML,
/// the key tables of docs/CONFIG.md (`carve config docs`) and the comparison that `--resume`
/// makes (mlpack's PARAM_* habit).
///
///   struct TrainingSpec { int64_t epochs = 10; };
///   carve::config::Table<TrainingSpec> training("training", "one run's epochs");
///   training.key("epochs", &TrainingSpec::epochs, int64_t{10}, config::positive<int64_t>(),
///                "passes over the training split", config::Resume::may_grow);
///   TrainingSpec t;
///   config::MapReader r(root["training"], "exp.yaml", "training");
///   training.read(r, t);            // exp.yaml:7:11: training.epochs: must be > 0, got 0
///
/// A table may nest tables (`regularizers` holds `contractive`, ...), and carries cross-key rules
/// that run after its keys are read.
#pragma once

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "carve/config/yaml_reader.h"

namespace carve::config {

/// What `--resume` accepts when a key's resolved value differs from the run's config.yaml.
enum class Resume {
  must_match,  ///< the run cannot continue under another value (the model, the data, ...)
  may_grow,    ///< a larger value continues the same run (training.epochs)
  free,        ///< cannot change results already computed (analysis, output)
};
std::string to_string(Resume rule);

/// The documentation of one key, as docs/CONFIG.md shows it.
struct KeyDoc {
  std::string key;            ///< dotted path from the file's top level
  std::string type;           ///< integer, number, bool, string, choice, list, mapping
  std::string default_value;  ///< as written in the docs ("**required**" for required keys)
  std::string range;          ///< the values accepted ("> 0", "`sgd`, `adam`", ...)
  std::string doc;            ///< one line
  Resume resume = Resume::must_match;
};

/// One mapping's key table in the docs.
struct DocTable {
  std::string path;  ///< dotted path of the mapping ("" for the top level)
  std::string doc;
  std::vector<KeyDoc> rows;
};

/// Whether a nested mapping must be there.
enum class Presence {
  always,         ///< absent means every key at its default
  optional,       ///< absent or null leaves the member struct as it is (a block that is off)
  null_enables,   ///< absent leaves it as it is; present, even empty, reads it
};

/// A key whose value differs between a run directory and the file that resumes it. `rule` is
/// the key's; a `may_grow` key appears here only when it grew (a smaller value is reported as
/// `must_match`), so a caller decides whether growth is accepted.
struct KeyDifference {
  std::string key;
  std::string was, now;
  Resume rule;
};

/// A range check on a value: `text` for the docs, `check` returns the error message or nothing.
template <typename T>
struct Range {
  std::string text;
  std::function<std::optional<std::string>(const T&)> check;
};

/// Ranges for the key tables: any value, > 0, >= 0, >= low (their text is what docs/CONFIG.md shows).
template <typename T>
Range<T> any(std::string text = "") {
  if (text.empty()) text = std::is_same_v<T, bool> ? "`true`, `false`" : "any";
  return {std::move(text), [](const T&) { return std::optional<std::string>(); }};
}
template <typename T>
Range<T> positive() {
  return {"> 0", [](const T& v) {
            return v > 0 ? std::optional<std::string>() : fmt::format("must be > 0, got {}", v);
          }};
}
template <typename T>
Range<T> non_negative() {
  return {"≥ 0", [](const T& v) {
            return v >= 0 ? std::optional<std::string>() : fmt::format("must be >= 0, got {}", v);
          }};
}
template <typename T>
Range<T> at_least(T low) {
  return {fmt::format("≥ {}", low), [low](const T& v) {
            return v >= low ? std::optional<std::string>() : fmt::format("must be >= {}, got {}", low, v);
          }};
}
/// A name usable as one directory: not empty, no slash, not "." or ".."; the error is
/// "'NAME' <problem>".
Range<std::string> directory_name(const std::string& problem);
/// [low, high), or [low, high] when `closed`, or (low, high) when `open_left` too.
Range<double> interval(double low, double high, bool open_left, bool open_right);

/// Shortest round-trip text of a number (0.1, not 0.10000000000000001).
std::string number_text(double v);

namespace detail {
/// A value as config.yaml and docs/CONFIG.md write it.
template <typename T>
std::string value_text(const T& v) {
  if constexpr (std::is_same_v<T, std::string>) return v;
  else if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
  else if constexpr (std::is_floating_point_v<T>) return number_text(v);
  else if constexpr (std::is_integral_v<T>) return std::to_string(v);
  else return to_string(v);  // an enum with its to_string
}
/// The type column of docs/CONFIG.md.
template <typename T>
std::string type_name() {
  if constexpr (std::is_same_v<T, std::string>) return "string";
  else if constexpr (std::is_same_v<T, bool>) return "bool";
  else if constexpr (std::is_floating_point_v<T>) return "number";
  else if constexpr (std::is_integral_v<T>) return "integer";
  else return "choice";
}
/// Writes a value into config.yaml (an empty string quoted, so that it reads back as a string).
template <typename T>
void emit(YAML::Emitter& e, const T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    // An empty string would otherwise be written as nothing, which reads back as null.
    if (v.empty()) e << YAML::DoubleQuoted << v;
    else e << v;
  } else if constexpr (std::is_same_v<T, bool>) {
    e << v;
  } else {
    e << value_text(v);
  }
}
}  // namespace detail

/// The keys of one mapping of a file, bound to the fields of `S`.
template <typename S>
class Table {
 public:
  /// `name` is the mapping's key path ("" for the file's top level); `doc` heads its docs table.
  Table(std::string name, std::string doc) : name_(std::move(name)), doc_(std::move(doc)) {}

  const std::string& name() const { return name_; }
  const std::string& doc() const { return doc_; }

  /// A scalar key with a fixed default.
  template <typename T>
  Table& key(const std::string& name, T S::*member, T fallback, Range<T> range, const std::string& doc,
             Resume rule = Resume::must_match) {
    return key_with<T>(name, member, [fallback](const S&) { return fallback; },
                    "`" + detail::value_text(fallback) + "`", std::move(range), doc, rule);
  }

  /// A scalar key whose default depends on keys read before it (`default_doc`, Markdown, says how).
  template <typename T>
  Table& key_with(const std::string& name, T S::*member, std::function<T(const S&)> fallback,
                  std::string default_doc, Range<T> range, const std::string& doc, Resume rule = Resume::must_match) {
    Entry e;
    e.doc = {name, detail::type_name<T>(), default_doc, range.text, doc, rule};
    if (e.doc.default_value == "``") e.doc.default_value = "`\"\"`";
    e.read = [name, member, fallback, range](MapReader& r, S& s) {
      s.*member = r.get<T>(name, fallback(s));
      if (const auto error = range.check(s.*member)) r.fail(name, *error);
    };
    e.write = [name, member](YAML::Emitter& out, const S& s) {
      out << YAML::Key << name << YAML::Value;
      detail::emit(out, s.*member);
    };
    e.diff = [name, member, rule](const S& was, const S& now, const std::string& prefix,
                                  std::vector<KeyDifference>& out) {
      const auto& a = was.*member;
      const auto& b = now.*member;
      if (a == b || rule == Resume::free) return;
      if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
        if (rule == Resume::may_grow && b > a) {
          out.push_back({prefix + name, detail::value_text(a), detail::value_text(b), rule});
          return;
        }
      }
      out.push_back({prefix + name, detail::value_text(a), detail::value_text(b), Resume::must_match});
    };
    entries_.push_back(std::move(e));
    return *this;
  }

  /// A required string key.
  Table& required(const std::string& name, std::string S::*member, Range<std::string> range, const std::string& doc) {
    Entry e;
    e.doc = {name, "string", "**required**", range.text, doc, Resume::must_match};
    e.read = [name, member, range](MapReader& r, S& s) {
      s.*member = r.require<std::string>(name);
      if (const auto error = range.check(s.*member)) r.fail(name, *error);
    };
    e.write = [name, member](YAML::Emitter& out, const S& s) {
      out << YAML::Key << name << YAML::Value;
      detail::emit(out, s.*member);
    };
    e.diff = [name, member](const S& was, const S& now, const std::string& prefix, std::vector<KeyDifference>& out) {
      if (was.*member != now.*member) out.push_back({prefix + name, was.*member, now.*member, Resume::must_match});
    };
    entries_.push_back(std::move(e));
    return *this;
  }

  /// A key that must be one of `values` (an enum with a `to_string`, the one name table).
  template <typename E>
  Table& choice(const std::string& name, E S::*member, E fallback, std::vector<E> values, const std::string& doc,
                Resume rule = Resume::must_match) {
    return choice_with<E>(name, member, [fallback](const S&) { return fallback; },
                       "`" + detail::value_text(fallback) + "`", std::move(values), doc, rule);
  }
  template <typename E>
  Table& choice_with(const std::string& name, E S::*member, std::function<E(const S&)> fallback,
                     std::string default_doc, std::vector<E> values, const std::string& doc,
                     Resume rule = Resume::must_match) {
    std::vector<std::string> names;
    for (auto v : values) names.push_back(detail::value_text(v));
    std::string range;
    for (const auto& n : names) range += (range.empty() ? "`" : ", `") + n + "`";
    Entry e;
    e.doc = {name, "choice", default_doc, range, doc, rule};
    e.read = [name, member, fallback, values, names](MapReader& r, S& s) {
      const auto text = r.choice(name, detail::value_text(fallback(s)), names);
      for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == text) s.*member = values[i];
    };
    e.write = [name, member](YAML::Emitter& out, const S& s) {
      out << YAML::Key << name << YAML::Value << detail::value_text(s.*member);
    };
    e.diff = [name, member, rule](const S& was, const S& now, const std::string& prefix,
                                  std::vector<KeyDifference>& out) {
      if (was.*member != now.*member && rule != Resume::free) {
        out.push_back({prefix + name, detail::value_text(was.*member), detail::value_text(now.*member), rule});
      }
    };
    entries_.push_back(std::move(e));
    return *this;
  }

  /// A nested mapping, bound to a member struct and described by its own table.
  template <typename Sub>
  Table& section(Sub S::*member, std::shared_ptr<const Table<Sub>> table, Presence presence = Presence::always) {
    Entry e;
    const auto key = last_part(table->name());
    e.doc = {key, "mapping", presence == Presence::always ? "each key's" : "absent (off)", "the keys below",
             table->doc(), Resume::must_match};
    e.nested_docs = [table](std::vector<DocTable>& out) { table->docs(out); };
    e.read = [key, member, table, presence](MapReader& r, S& s) {
      const bool there = presence == Presence::null_enables ? r.node(key).IsDefined() : r.has(key);
      if (presence != Presence::always && !there) {
        r.node(key);  // known, even as null
        return;
      }
      auto sub = r.map(key);
      table->read(sub, s.*member);
    };
    e.write = [key, member, table](YAML::Emitter& out, const S& s) {
      out << YAML::Key << key << YAML::Value;
      table->write(out, s.*member);
    };
    e.diff = [key, member, table](const S& was, const S& now, const std::string& prefix,
                                  std::vector<KeyDifference>& out) {
      table->diff(was.*member, now.*member, prefix + key + ".", out);
    };
    e.applies = [member, table](const S& s) { return table->written(s.*member); };
    entries_.push_back(std::move(e));
    return *this;
  }

  /// The last key declared is written and compared only when `when` holds (keys that do not
  /// apply to the chosen model, say).
  Table& only_if(std::function<bool(const S&)> when) {
    entries_.back().applies = std::move(when);
    return *this;
  }
  /// The whole mapping is written only when `when` holds (optional blocks such as finetune);
  /// `presence` is the resume rule of adding or removing the block.
  Table& written_if(std::function<bool(const S&)> when, Resume presence = Resume::must_match) {
    written_ = std::move(when);
    presence_ = presence;
    return *this;
  }
  /// A rule across keys, checked after all of them are read: throw through `r.fail(key, ...)`.
  Table& rule(std::function<void(MapReader&, const S&)> check) {
    rules_.push_back(std::move(check));
    return *this;
  }

  /// Reads every declared key of `r` into `s` (defaults for absent ones), checks ranges and
  /// rules, and refuses keys it does not declare.
  void read(MapReader& r, S& s) const {
    for (const auto& e : entries_) e.read(r, s);
    for (const auto& check : rules_) check(r, s);
    r.finish();
  }
  /// Writes the mapping (every key that applies) as a YAML map.
  void write(YAML::Emitter& out, const S& s) const {
    out << YAML::BeginMap;
    for (const auto& e : entries_)
      if (!e.applies || e.applies(s)) e.write(out, s);
    out << YAML::EndMap;
  }
  bool written(const S& s) const { return !written_ || written_(s); }
  /// The keys whose values differ between `was` and `now` in a way their resume rule forbids
  /// (`prefix` is the dotted path of this mapping, ending in '.').
  void diff(const S& was, const S& now, const std::string& prefix, std::vector<KeyDifference>& out) const {
    const bool a = written(was), b = written(now);
    if (a != b) {
      if (presence_ != Resume::free) {
        out.push_back({prefix.substr(0, prefix.size() - 1), a ? "present" : "absent", b ? "present" : "absent",
                       Resume::must_match});
      }
      return;
    }
    if (!a) return;
    for (const auto& e : entries_) {
      const bool in_a = !e.applies || e.applies(was), in_b = !e.applies || e.applies(now);
      if (in_a || in_b) e.diff(was, now, prefix, out);
    }
  }
  /// This table's rows, then each nested table's, as (mapping path, rows).
  void docs(std::vector<DocTable>& out) const {
    std::vector<KeyDoc> rows;
    for (const auto& e : entries_) rows.push_back(e.doc);
    out.push_back({name_, doc_, rows});
    for (const auto& e : entries_)
      if (e.nested_docs) e.nested_docs(out);
  }
  /// Declares a key whose reading and writing are custom (a list, a mapping of its own).
  Table& custom(KeyDoc doc, std::function<void(MapReader&, S&)> read,
                std::function<void(YAML::Emitter&, const S&)> write,
                std::function<void(const S&, const S&, const std::string&, std::vector<KeyDifference>&)> diff) {
    Entry e;
    e.doc = std::move(doc);
    e.read = std::move(read);
    e.write = std::move(write);
    e.diff = std::move(diff);
    entries_.push_back(std::move(e));
    return *this;
  }

 private:
  struct Entry {
    KeyDoc doc;
    std::function<void(MapReader&, S&)> read;
    std::function<void(YAML::Emitter&, const S&)> write;
    std::function<void(const S&, const S&, const std::string&, std::vector<KeyDifference>&)> diff;
    std::function<bool(const S&)> applies;
    std::function<void(std::vector<DocTable>&)> nested_docs;
  };
  static std::string last_part(const std::string& path) {
    const auto dot = path.rfind('.');
    return dot == std::string::npos ? path : path.substr(dot + 1);
  }

  std::string name_, doc_;
  std::vector<Entry> entries_;
  std::vector<std::function<void(MapReader&, const S&)>> rules_;
  std::function<bool(const S&)> written_;
  Resume presence_ = Resume::must_match;
};

/// Markdown key tables, one per mapping: a line "Keys of `path`: doc", a blank line and the
/// table; blocks are separated by a blank line.
std::string docs_markdown(const std::vector<DocTable>& tables);

}  // namespace carve::config
