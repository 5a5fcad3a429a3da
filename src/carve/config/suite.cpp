#include "carve/config/suite.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "carve/config/yaml_reader.h"
#include "carve/error.h"

namespace carve {

namespace fs = std::filesystem;

namespace {

using config::KeyDifference;
using config::MapReader;
using config::Resume;
using config::Table;

void no_diff(const SuiteRun&, const SuiteRun&, const std::string&, std::vector<KeyDifference>&) {}

const Table<SuiteRun>& run_table() {
  static const auto table = [] {
    auto t = std::make_shared<Table<SuiteRun>>("suite.runs[]", "One row of the suite's table.");
    t->required("name", &SuiteRun::name,
                config::directory_name("must be a unique directory name"),
                "the run's directory, `RUN_DIR/<name>/`");
    t->custom({"set", "mapping", "none", "key paths → scalars", "overrides of the base configuration, as `--set`",
               Resume::must_match},
              [](MapReader& run, SuiteRun& s) {
                const auto set = run.node("set");
                if (!set.IsDefined() || set.IsNull()) return;
                if (!set.IsMap()) run.fail("set", "expected a mapping of key paths to values");
                for (const auto& kv : set) {
                  if (!kv.second.IsScalar()) {
                    run.fail("set", fmt::format("the value of '{}' must be a scalar", kv.first.as<std::string>()));
                  }
                  s.overrides.push_back(kv.first.as<std::string>() + "=" + kv.second.Scalar());
                  const auto key = kv.first.as<std::string>();
                  s.origins[key] = config::location(run.file(), kv.first, run.dotted("set") + "." + key);
                }
              },
              [](YAML::Emitter&, const SuiteRun&) {}, no_diff);
    t->custom({"paper", "mapping", "none", "test_error, jacobian, saturation",
               "the published values of this row, shown beside ours: `test_error` and `saturation` (SAT) as "
               "fractions in [0, 1], `jacobian` (> 0) in the paper's units (summary.json `paper_units`); the suite "
               "table also ranks the candidate units by their fit to them",
               Resume::free},
              [](MapReader& run, SuiteRun& s) {
                if (!run.has("paper")) return;
                auto paper = run.map("paper");
                const auto fraction = [&](const char* key, double& into) {
                  into = paper.get<double>(key, -1);
                  if (paper.has(key) && !(into >= 0 && into <= 1)) {
                    paper.fail(key, fmt::format("must be a fraction in [0, 1], got {}", into));
                  }
                };
                fraction("test_error", s.paper.test_error);
                fraction("saturation", s.paper.saturation);
                s.paper.jacobian = paper.get<double>("jacobian", -1);
                if (paper.has("jacobian") && !(s.paper.jacobian > 0 && std::isfinite(s.paper.jacobian))) {
                  paper.fail("jacobian", fmt::format("must be a positive number, got {}", s.paper.jacobian));
                }
                paper.finish();
              },
              [](YAML::Emitter&, const SuiteRun&) {}, no_diff);
    t->custom({"paper_test_error", "number", "none", "[0, 1]", "the older spelling of `paper.test_error`",
               Resume::free},
              [](MapReader& run, SuiteRun& s) {
                if (!run.has("paper_test_error")) return;
                if (s.paper.test_error >= 0) run.fail("paper_test_error", "given twice: here and as paper.test_error");
                s.paper.test_error = run.get<double>("paper_test_error", -1);
                if (s.paper.test_error < 0 || s.paper.test_error > 1) {
                  run.fail("paper_test_error", fmt::format("must be in [0, 1], got {}", s.paper.test_error));
                }
              },
              [](YAML::Emitter&, const SuiteRun&) {}, no_diff);
    t->custom({"file", "string", "this file", "an existing file",
               "another experiment file, relative to this one (a stack, say); the `set` values and the seed apply "
               "to it",
               Resume::must_match},
              [](MapReader& run, SuiteRun& s) {
                s.file = run.get<std::string>("file", "");
                if (s.file.empty()) return;
                const auto path = fs::path(run.file()).parent_path() / s.file;
                if (std::error_code ec; !fs::exists(path, ec)) run.fail("file", fmt::format("no such file: {}", path.string()));
                s.file = path.string();
              },
              [](YAML::Emitter&, const SuiteRun&) {}, no_diff);
    t->custom({"sweep", "mapping", "none", "key paths → non-empty lists of values",
               "the run's hyperparameters, chosen on the validation split before its seeds run (as a file's "
               "`sweep`)",
               Resume::must_match},
              [](MapReader& run, SuiteRun& s) {
                s.sweep = parse_sweep(run.node("sweep"), run.file(), run.dotted("sweep"));
              },
              [](YAML::Emitter&, const SuiteRun&) {}, no_diff);
    return t;
  }();
  return *table;
}

const Table<SuiteSpec>& suite_table() {
  static const auto table = [] {
    auto t = std::make_shared<Table<SuiteSpec>>("suite", "Several models over seeds, one table.");
    t->custom({"seeds", "list of integers", "the file's `seed`", "≥ 0", "each run is repeated once per seed",
               Resume::must_match},
              [](MapReader& r, SuiteSpec& suite) {
                const auto seeds = r.node("seeds");
                if (!seeds.IsDefined() || seeds.IsNull()) return;
                if (!seeds.IsSequence() || seeds.size() == 0) r.fail("seeds", "expected a non-empty list of seeds");
                for (const auto& v : seeds) {
                  int64_t seed = -1;
                  if (!v.IsScalar() || !YAML::convert<int64_t>::decode(v, seed) || seed < 0) {
                    throw ConfigError(fmt::format("{}: suite.seeds: expected non-negative integers",
                                                  config::location(r.file(), v, "suite.seeds")));
                  }
                  suite.seeds.push_back(static_cast<uint64_t>(seed));
                }
              },
              [](YAML::Emitter&, const SuiteSpec&) {},
              [](const SuiteSpec&, const SuiteSpec&, const std::string&, std::vector<KeyDifference>&) {});
    t->custom({"runs", "list", "**required**", "non-empty; keys below", "the rows of the table", Resume::must_match},
              [](MapReader& r, SuiteSpec& suite) {
                const auto runs = r.node("runs");
                if (!runs.IsDefined() || !runs.IsSequence() || runs.size() == 0) {
                  r.fail("runs", "expected a non-empty list of runs");
                }
                std::set<std::string> names;
                for (size_t i = 0; i < runs.size(); ++i) {
                  MapReader run(runs[i], r.file(), fmt::format("suite.runs[{}]", i));
                  SuiteRun s;
                  run_table().read(run, s);
                  if (!names.insert(s.name).second) {
                    run.fail("name", fmt::format("'{}' must be a unique directory name", s.name));
                  }
                  suite.runs.push_back(s);
                }
              },
              [](YAML::Emitter&, const SuiteSpec&) {},
              [](const SuiteSpec&, const SuiteSpec&, const std::string&, std::vector<KeyDifference>&) {});
    return t;
  }();
  return *table;
}

}  // namespace

SuiteSpec load_suite(const std::string& file) {
  return config::guard_yaml(file, [&] {
    const YAML::Node root = config::load_yaml_file(file);
    SuiteSpec suite;
    if (!root.IsMap() || !root["suite"].IsDefined()) return suite;
    MapReader r(root["suite"], file, "suite");
    suite_table().read(r, suite);
    return suite;
  });
}

namespace config {
std::vector<DocTable> suite_docs() {
  std::vector<DocTable> out;
  suite_table().docs(out);
  run_table().docs(out);
  return out;
}
}  // namespace config

}  // namespace carve
