// Golden values: the numbers every experiments/ file produces, recorded once and compared on
// every run of the suite, so that a refactoring that means to change nothing provably changes
// nothing. Each case runs the `carve` command (not the library, whose API refactorings move)
// on one experiment file, shortened with --set to a few hundred examples and one epoch, on the
// CPU with one thread, then collects from the whole run tree:
//
//   - every numeric cell of every CSV (metrics.csv, finetune.csv, sweep.csv, table.csv, ...),
//     keyed by file, row and column name (not the per-example splits.csv, test_predictions.csv);
//   - every numeric leaf of every summary.json, keyed by file and JSON path;
//   - the sum and sum of squares of each parameter of every TorchScript module (encoder.pt, classifier.pt; not the checkpoints).
//
// Wall-clock values (seconds, ms) are left out. A golden key missing from a fresh run fails
// (an output was lost); a fresh key absent from the golden file is allowed (later work adds
// outputs). Values agree within |a - b| <= 1e-6 + 1e-4 |b|: float32 training with one thread is
// bit-reproducible on one machine, and the tolerance absorbs the last-digit differences between
// CPU kernels (OpenBLAS picks them by processor) without hiding a changed algorithm. A parameter's
// sum is held to the same relative tolerance of its scale, max(|sum|, ||p||_2 = sqrt(sumsq)):
// some sums are near zero by cancellation (a softmax layer's weights keep their initial sum,
// ~1e-6, under every gradient step), so |b| alone would measure rounding noise, machine by machine.
//
// To re-bless after a change of numbers made on purpose (say why in the commit):
//   CARVE_BLESS_GOLDEN=1 build/carve_tests --gtest_filter='Golden*'
#include <gtest/gtest.h>
#include <torch/script.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "support/run_command.h"
#include "support/temp_dir.h"

namespace carve {
namespace {

namespace fs = std::filesystem;
using Values = std::map<std::string, double>;  // NaN for null / non-finite

struct GoldenCase {
  std::string name;  // tests/golden/<name>.json
  std::string file;  // relative to the checkout
  std::string args;  // extra command-line words (--set ...)
};

// One epoch, small splits; fine-tuning for one epoch where the file fine-tunes.
const std::string kShort =
    "--set training.epochs=1 --set data.train=400 --set data.valid=200 --set data.test=200 ";
const std::string kShortFinetune = kShort + "--set finetune.epochs=1 ";
const std::string kSmallRbm = "--set model.ais_runs=4 --set model.ais_betas=200 ";
// Suites run many models: fewer hidden units keep them to seconds.
const std::string kSuite = kShortFinetune + kSmallRbm + "--set model.hidden=64 ";

std::vector<GoldenCase> cases() {
  return {
      {"quickstart", "experiments/quickstart.yaml", ""},
      {"ae", "experiments/ae.yaml", kShort},
      {"ae_wd", "experiments/ae-wd.yaml", kShort},
      {"cae", "experiments/cae.yaml", kShort},
      {"cae_h", "experiments/cae-h.yaml", kShort},
      {"cae_stochastic", "experiments/cae-stochastic.yaml", kShort},
      {"cdae", "experiments/cdae.yaml", kShort},
      {"dae_b", "experiments/dae-b.yaml", kShort},
      {"dae_g", "experiments/dae-g.yaml", kShort},
      {"dae_sp", "experiments/dae-sp.yaml", kShort},
      {"sparse", "experiments/sparse.yaml", kShort},
      {"sparse_l1", "experiments/sparse-l1.yaml", kShort},
      {"rbm", "experiments/rbm.yaml", kShort + kSmallRbm},
      {"cae_2", "experiments/cae-2.yaml", kShortFinetune + "--set model.hidden=200"},
      {"dae_b_3", "experiments/dae-b-3.yaml", kShortFinetune + "--set model.hidden=200"},
      {"dbn_3", "experiments/dbn-3.yaml", kShortFinetune + kSmallRbm + "--set model.hidden=200"},
      {"table1_mnist", "experiments/paper/table1-mnist.yaml", kSuite},
      {"table1_fashion_mnist", "experiments/paper/table1-fashion-mnist.yaml", kSuite},
      {"sweep_table1_fashion_mnist", "experiments/paper/sweeps/table1-fashion-mnist.yaml", kSuite},
      // Generates the variations benchmark into the data directory the first time (~15 s).
      {"table2_variations", "experiments/paper/table2-variations.yaml", kSuite},
      // table1-cifar-bw.yaml needs the CIFAR-10 files, which cannot be had here.
  };
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

class Golden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(Golden, FreshRunMatchesRecordedNumbers) {
  const auto& c = GetParam();
  testing::TempDir tmp;
  const auto out = tmp.path() / "run";
  const auto file = fs::path(CARVE_TEST_SOURCE_DIR) / c.file;
  // On the CPU whatever the machine has: `device: auto` would pick a GPU where there is one.
  const auto r = testing::run_carve("--threads 1 run '" + file.string() + "' --out '" + out.string() +
                                    "' --device cpu " + c.args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto fresh = collect(out);
  ASSERT_FALSE(fresh.empty());

  if (std::getenv("CARVE_BLESS_GOLDEN")) {
    std::ofstream(golden_path(c.name)) << to_json(fresh).dump(1) << "\n";
    GTEST_SKIP() << "blessed " << golden_path(c.name) << " (" << fresh.size() << " values)";
  }
  std::ifstream in(golden_path(c.name));
  ASSERT_TRUE(in.good()) << "no golden values: " << golden_path(c.name) << " (bless them: CARVE_BLESS_GOLDEN=1)";
  const auto golden = nlohmann::json::parse(in);
  size_t compared = 0, failed = 0;
  for (const auto& [key, value] : golden.items()) {
    const auto it = fresh.find(key);
    if (it == fresh.end()) {
      ADD_FAILURE() << key << ": missing from the fresh run";
      ++failed;
      continue;
    }
    const double b = value.is_null() ? std::nan("") : value.get<double>();
    const double a = it->second;
    ++compared;
    double scale = std::abs(b);
    if (const auto at = key.rfind(":sum"); at != std::string::npos && at + 4 == key.size()) {
      const auto sumsq = golden.find(key + "sq");
      if (sumsq != golden.end() && sumsq->is_number()) scale = std::max(scale, std::sqrt(sumsq->get<double>()));
    }
    const bool same = (std::isnan(a) && std::isnan(b)) || std::abs(a - b) <= 1e-6 + 1e-4 * scale;
    if (!same && ++failed <= 20) ADD_FAILURE() << key << ": " << a << " now, " << b << " recorded";
  }
  EXPECT_EQ(failed, 0u) << failed << " of " << golden.size() << " golden values differ or are missing";
  EXPECT_GT(compared, 0u);
}

INSTANTIATE_TEST_SUITE_P(Experiments, Golden, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<GoldenCase>& info) { return info.param.name; });

}  // namespace
}  // namespace carve
