// Golden values: the numbers every experiments/ file produces, recorded once and compared on
// every run of the suite, so that a refactoring that means to change nothing provably changes
// nothing. Each case runs the `carve` command (not the library, whose API refactorings move)
// on one experiment file, shortened with --set to a few hundred examples and one epoch, on the
// CPU with one thread, then collects from the whole run tree:
//
//   - every numeric cell of every CSV (metrics.csv, finetune.csv, sweep.csv, table.csv, ...),
//     keyed by file, row and column name (not the per-example splits.csv, test_predictions.csv);
//   - every numeric leaf of every summary.json, keyed by file and JSON path;
//   - the sum and sum of squares of each parameter of every TorchScript module (encoder.pt,
//     classifier.pt; not the checkpoints).
//
// Wall-clock values (seconds, ms) are left out. A golden key missing from a fresh run fails
// (an output was lost); a fresh key absent from the golden file is allowed (later work adds
// outputs).
//
// What holds where (docs/ARCHITECTURE.md, "Reproducibility"): with the same binary, machine and
// thread count a run is bit-identical; across CPUs, BLAS builds and LibTorch versions it agrees
// within each value's tolerance, which is measured, not assumed. tools/golden/spread.py runs every
// case under the variations one machine can produce (ATen's CPU capability at each level the CPU
// supports, the BLAS kernel families it can run, one and two threads, and the LibTorch 2.x root of
// CI) and records beside each value 4x the largest spread it saw, with a floor at rounding. The
// golden file is {"values": {key: [value, tolerance]}, "measured": {how}}.
//
// Chaotic cases (a deep stack of RBMs: three layers of Bernoulli sampling amplify the last bits of
// every kernel) compare what is stable about them (errors, reconstructions, log partition
// functions, penalties) rather than raw parameter sums: `stable_only` below says so, case by case.
//
// Each case also has a deliberate small change (its learning rate x 1.01):
// GoldenSensitivity runs it and requires some value to move past its tolerance, so that no
// tolerance is so wide that the golden test checks nothing.
//
// To re-bless after a change of numbers made on purpose (say why in the commit):
//   /usr/bin/python3 tools/golden/spread.py            (every case, every variation: docs/ARCHITECTURE.md)
//   /usr/bin/python3 tools/golden/spread.py ae cae     (some cases)
// It runs this test with CARVE_GOLDEN_DUMP=DIR (write the fresh values there, compare nothing)
// and CARVE_GOLDEN_THREADS=N.
#include <gtest/gtest.h>
#include <torch/script.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "support/run_command.h"
#include "support/temp_dir.h"

namespace carve {
namespace {

namespace fs = std::filesystem;
using Values = std::map<std::string, double>;  // NaN for null / non-finite

struct GoldenCase {
  std::string name;     // tests/golden/<name>.json
  std::string file;     // relative to the checkout
  std::string args;     // extra command-line words (--set ...)
  std::string changed;  // the deliberate small change GoldenSensitivity makes (the file's lr x 1.01)
  std::string stable_only = "";  // non-empty: why only stable values are compared (is_stable)
};

// One epoch, small splits; fine-tuning for one epoch where the file fine-tunes.
const std::string kShort =
    "--set training.epochs=1 --set data.train=400 --set data.valid=200 --set data.test=200 ";
const std::string kShortFinetune = kShort + "--set finetune.epochs=1 ";
const std::string kSmallRbm = "--set model.ais_runs=4 --set model.ais_betas=200 ";
// Suites run many models: fewer hidden units keep them to seconds.
const std::string kSuite = kShortFinetune + kSmallRbm + "--set model.hidden=64 ";
// The learning rate x 1.01 of files at 0.02, 0.05, 0.01 and 0.001.
const std::string kLr002 = "--set optimizer.lr=0.0202";
const std::string kLr005 = "--set optimizer.lr=0.0505";
const std::string kLr001 = "--set optimizer.lr=0.0101";
const std::string kLr0001 = "--set optimizer.lr=0.00101";
const std::string kDeepRbm =
    "three RBM layers of Bernoulli sampling amplify the last bits of every CPU kernel into the third "
    "layer's parameters (0.07% between an AMD and an Intel CPU): compared are errors, reconstructions, "
    "penalties and log partition functions, not parameter sums";

std::vector<GoldenCase> cases() {
  return {
      {"quickstart", "experiments/quickstart.yaml", "", kLr002},
      {"ae", "experiments/ae.yaml", kShort, kLr002},
      {"ae_wd", "experiments/ae-wd.yaml", kShort, kLr002},
      {"cae", "experiments/cae.yaml", kShort, kLr002},
      {"cae_h", "experiments/cae-h.yaml", kShort, kLr002},
      {"cae_stochastic", "experiments/cae-stochastic.yaml", kShort, kLr002},
      {"cdae", "experiments/cdae.yaml", kShort, kLr002},
      {"dae_b", "experiments/dae-b.yaml", kShort, kLr002},
      {"dae_g", "experiments/dae-g.yaml", kShort, kLr002},
      {"dae_sp", "experiments/dae-sp.yaml", kShort, kLr002},
      {"sparse", "experiments/sparse.yaml", kShort, kLr002},
      {"sparse_l1", "experiments/sparse-l1.yaml", kShort, kLr0001},
      {"rbm", "experiments/rbm.yaml", kShort + kSmallRbm, kLr005},
      {"cae_2", "experiments/cae-2.yaml", kShortFinetune + "--set model.hidden=200", kLr002},
      {"dae_b_3", "experiments/dae-b-3.yaml", kShortFinetune + "--set model.hidden=200", kLr002},
      {"dbn_3", "experiments/dbn-3.yaml", kShortFinetune + kSmallRbm + "--set model.hidden=200", kLr005, kDeepRbm},
      {"table1_mnist", "experiments/paper/table1-mnist.yaml", kSuite, kLr001},
      {"table1_fashion_mnist", "experiments/paper/table1-fashion-mnist.yaml", kSuite, kLr001},
      {"sweep_table1_fashion_mnist", "experiments/paper/sweeps/table1-fashion-mnist.yaml", kSuite, kLr001},
      // Generates the variations benchmark into the data directory the first time (~15 s).
      {"table2_variations", "experiments/paper/table2-variations.yaml", kSuite, kLr002, kDeepRbm},
      // table1-cifar-bw.yaml needs the CIFAR-10 files, which cannot be had here.
  };
}

// A raw parameter sum or sum of squares of a TorchScript module (encoder.pt, classifier.pt).
bool is_parameter_sum(const std::string& key) { return key.find(".pt:") != std::string::npos; }

// What a stable_only case compares: everything but the raw parameter sums.
bool is_stable(const GoldenCase& c, const std::string& key) { return c.stable_only.empty() || !is_parameter_sum(key); }

// A value that echoes the configuration (the learning rate a row ran at): the deliberate change
// moves it by construction, so it does not show that the results moved.
bool echoes_configuration(const std::string& key) {
  const auto last = key.find_last_of(":.");
  const auto leaf = last == std::string::npos ? key : key.substr(last + 1);
  return leaf == "lr" || leaf.rfind("optimizer", 0) == 0 || key.find(".config.") != std::string::npos;
}

bool is_wall_clock(const std::string& name) {
  return name == "seconds" || name == "ms" || name.find("seconds") != std::string::npos ||
         name.find("_ms") != std::string::npos || name == "threads";
}

// RFC 4180 fields of one line (quoted fields may hold commas).
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out{""};
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') out.back() += '"', ++i;
      else if (c == '"') quoted = false;
      else out.back() += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

bool parse_number(const std::string& text, double& v) {
  if (text.empty()) return false;
  if (text == "nan" || text == "-nan" || text == "NaN") return v = std::nan(""), true;
  char* end = nullptr;
  v = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

void collect_csv(const fs::path& file, const std::string& rel, Values& out) {
  std::ifstream in(file);
  std::string line;
  if (!std::getline(in, line)) return;
  const auto header = csv_fields(line);
  for (int row = 0; std::getline(in, line); ++row) {
    const auto fields = csv_fields(line);
    // A row with more fields than the header (an unquoted comma) cannot be keyed by column.
    if (fields.size() != header.size()) continue;
    for (size_t c = 0; c < fields.size(); ++c) {
      double v = 0;
      if (is_wall_clock(header[c]) || !parse_number(fields[c], v)) continue;
      out[rel + ":" + std::to_string(row) + ":" + header[c]] = v;
    }
  }
}

void collect_json(const nlohmann::json& j, const std::string& key, Values& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (!is_wall_clock(k)) collect_json(v, key + "." + k, out);
    }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) collect_json(j[i], key + "[" + std::to_string(i) + "]", out);
  } else if (j.is_number()) {
    out[key] = j.get<double>();
  } else if (j.is_null()) {
    out[key] = std::nan("");
  }
}

void collect_module(const fs::path& file, const std::string& rel, Values& out) {
  auto module = torch::jit::load(file.string());
  for (const auto& p : module.named_parameters(/*recurse=*/true)) {
    const auto t = p.value.detach().to(torch::kFloat64);
    out[rel + ":" + p.name + ":sum"] = t.sum().item<double>();
    out[rel + ":" + p.name + ":sumsq"] = t.pow(2).sum().item<double>();
  }
}

Values collect(const fs::path& root) {
  Values out;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    const auto rel = fs::relative(entry.path(), root).string();
    const auto ext = entry.path().extension().string();
    const auto name = entry.path().filename().string();
    if (name == "splits.csv" || name == "test_predictions.csv") {
      // One row per example: indices and classes, not numbers of the model. The split is fixed by
      // the seed (tests/data), the predictions give summary.json's test_error, which is compared.
      continue;
    } else if (ext == ".csv") {
      collect_csv(entry.path(), rel, out);
    } else if (name == "summary.json") {
      std::ifstream in(entry.path());
      collect_json(nlohmann::json::parse(in), rel, out);
    } else if (ext == ".pt" && (name == "encoder.pt" || name == "classifier.pt")) {
      collect_module(entry.path(), rel, out);
    }
  }
  return out;
}

nlohmann::json to_json(const Values& values) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : values) j[k] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
  return j;
}

fs::path golden_path(const std::string& name) {
  return fs::path(CARVE_TEST_SOURCE_DIR) / "tests" / "golden" / (name + ".json");
}

// The golden values of a case and their measured tolerances.
struct GoldenFile {
  std::map<std::string, std::pair<double, double>> values;  // key -> (value, tolerance)
};

GoldenFile read_golden(const std::string& name) {
  const auto path = golden_path(name);
  std::ifstream in(path);
  if (!in.good()) throw std::runtime_error("no golden values: " + path.string() + " (tools/golden/spread.py " + name + ")");
  const auto j = nlohmann::json::parse(in);
  if (!j.contains("values")) {
    throw std::runtime_error(path.string() + ": no measured tolerances (tools/golden/spread.py " + name + ")");
  }
  GoldenFile g;
  for (const auto& [key, pair] : j.at("values").items()) {
    const double value = pair.at(0).is_null() ? std::nan("") : pair.at(0).get<double>();
    g.values[key] = {value, pair.at(1).get<double>()};
  }
  return g;
}

bool within(double fresh, double recorded, double tolerance) {
  return (std::isnan(fresh) && std::isnan(recorded)) || std::abs(fresh - recorded) <= tolerance;
}

// Runs a case's file with its short settings plus `extra`, on the CPU, and collects the run tree.
Values run_case(const GoldenCase& c, const std::string& extra, const fs::path& out) {
  const auto file = fs::path(CARVE_TEST_SOURCE_DIR) / c.file;
  const char* threads = std::getenv("CARVE_GOLDEN_THREADS");
  // On the CPU whatever the machine has: `device: auto` would pick a GPU where there is one.
  const auto r = testing::run_carve(std::string("--threads ") + (threads ? threads : "1") + " run '" + file.string() +
                                    "' --out '" + out.string() + "' --device cpu " + c.args + " " + extra);
  if (r.exit_code != 0) throw std::runtime_error("carve exited " + std::to_string(r.exit_code) + ": " + r.err);
  Values fresh;
  for (const auto& [key, value] : collect(out))
    if (is_stable(c, key)) fresh[key] = value;
  return fresh;
}

class Golden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(Golden, FreshRunMatchesRecordedNumbers) {
  const auto& c = GetParam();
  testing::TempDir tmp;
  const auto fresh = run_case(c, "", tmp.path() / "run");
  ASSERT_FALSE(fresh.empty());

  if (const char* dump = std::getenv("CARVE_GOLDEN_DUMP")) {  // tools/golden/spread.py measures
    fs::create_directories(dump);
    std::ofstream(fs::path(dump) / (c.name + ".json")) << to_json(fresh).dump(1) << "\n";
    GTEST_SKIP() << "wrote " << (fs::path(dump) / (c.name + ".json")) << " (" << fresh.size() << " values)";
  }
  const auto golden = read_golden(c.name);
  size_t compared = 0, failed = 0;
  for (const auto& [key, recorded] : golden.values) {
    const auto it = fresh.find(key);
    if (it == fresh.end()) {
      ADD_FAILURE() << key << ": missing from the fresh run";
      ++failed;
      continue;
    }
    ++compared;
    const auto [value, tolerance] = recorded;
    if (!within(it->second, value, tolerance) && ++failed <= 20) {
      ADD_FAILURE() << key << ": " << it->second << " now, " << value << " recorded (tolerance " << tolerance << ")";
    }
  }
  EXPECT_EQ(failed, 0u) << failed << " of " << golden.values.size() << " golden values differ or are missing";
  EXPECT_GT(compared, 0u);
}

// The deliberate small change of each case moves some result (not an echo of the changed setting)
// past its tolerance: the tolerances leave the golden test able to fail.
TEST_P(Golden, DeliberateSmallChangeExceedsTolerance) {
  const auto& c = GetParam();
  if (std::getenv("CARVE_GOLDEN_DUMP")) GTEST_SKIP() << "measuring (CARVE_GOLDEN_DUMP)";
  const auto golden = read_golden(c.name);
  testing::TempDir tmp;
  const auto changed = run_case(c, c.changed, tmp.path() / "run");
  size_t moved = 0, compared = 0;
  std::string example;
  for (const auto& [key, recorded] : golden.values) {
    const auto it = changed.find(key);
    if (it == changed.end() || echoes_configuration(key)) continue;
    ++compared;
    if (!within(it->second, recorded.first, recorded.second)) {
      if (moved++ == 0) {
        example = key + ": " + std::to_string(it->second) + " against " + std::to_string(recorded.first) +
                  " (tolerance " + std::to_string(recorded.second) + ")";
      }
    }
  }
  EXPECT_GT(moved, 0u) << c.changed << " moved none of " << compared << " golden values past its tolerance";
  std::cout << "[          ] " << c.changed << " moved " << moved << " of " << compared
            << " values past their tolerance, e.g. " << example << "\n";
}

INSTANTIATE_TEST_SUITE_P(Experiments, Golden, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<GoldenCase>& info) { return info.param.name; });

}  // namespace
}  // namespace carve
