#include "carve/train/suite.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <fmt/ranges.h>

#include <set>

#include "carve/config/yaml_reader.h"
#include "carve/data/file_bytes.h"
#include "carve/train/sweep.h"
#include "carve/error.h"

namespace carve {

namespace fs = std::filesystem;

SuiteSpec load_suite(const std::string& file) {
  const YAML::Node root = config::load_yaml_file(file);
  SuiteSpec suite;
  if (!root.IsMap() || !root["suite"].IsDefined()) return suite;
  config::MapReader r(root["suite"], file, "suite");
  const auto seeds = r.node("seeds");
  if (seeds.IsDefined() && !seeds.IsNull()) {
    if (!seeds.IsSequence() || seeds.size() == 0) r.fail("seeds", "expected a non-empty list of seeds");
    for (const auto& v : seeds) {
      int64_t seed = -1;
      if (!v.IsScalar() || !YAML::convert<int64_t>::decode(v, seed) || seed < 0) {
        throw ConfigError(fmt::format("{}: suite.seeds: expected non-negative integers", config::location(file, v, "suite.seeds")));
      }
      suite.seeds.push_back(static_cast<uint64_t>(seed));
    }
  }
  const auto runs = r.node("runs");
  if (!runs.IsDefined() || !runs.IsSequence() || runs.size() == 0) r.fail("runs", "expected a non-empty list of runs");
  std::set<std::string> names;
  for (size_t i = 0; i < runs.size(); ++i) {
    config::MapReader run(runs[i], file, fmt::format("suite.runs[{}]", i));
    SuiteRun s;
    s.name = run.require<std::string>("name");
    if (s.name.empty() || s.name.find_first_of("/\\") != std::string::npos || !names.insert(s.name).second) {
      run.fail("name", fmt::format("'{}' must be a unique directory name", s.name));
    }
    const auto set = run.node("set");
    if (set.IsDefined() && !set.IsNull()) {
      if (!set.IsMap()) run.fail("set", "expected a mapping of key paths to values");
      for (const auto& kv : set) {
        if (!kv.second.IsScalar()) run.fail("set", fmt::format("the value of '{}' must be a scalar", kv.first.as<std::string>()));
        s.overrides.push_back(kv.first.as<std::string>() + "=" + kv.second.Scalar());
      }
    }
    s.paper_test_error = run.get<double>("paper_test_error", -1);
    s.file = run.get<std::string>("file", "");
    if (!s.file.empty()) {
      const auto path = fs::path(file).parent_path() / s.file;
      if (!fs::exists(path)) run.fail("file", fmt::format("no such file: {}", path.string()));
      s.file = path.string();
    }
    run.finish();
    suite.runs.push_back(s);
  }
  r.finish();
  return suite;
}

namespace {

struct Stat {
  double mean = std::nan(""), sd = std::nan("");
  int count = 0;
};

Stat stat(const std::vector<double>& v) {
  Stat s;
  std::vector<double> x;
  for (double d : v) if (std::isfinite(d)) x.push_back(d);
  s.count = static_cast<int>(x.size());
  if (x.empty()) return s;
  double sum = 0;
  for (double d : x) sum += d;
  s.mean = sum / x.size();
  if (x.size() > 1) {
    double ss = 0;
    for (double d : x) ss += (d - s.mean) * (d - s.mean);
    s.sd = std::sqrt(ss / (x.size() - 1));
  }
  return s;
}

std::string show(const Stat& s, double scale, int digits) {
  if (s.count == 0) return "–";
  if (!std::isfinite(s.sd)) return fmt::format("{:.{}f}", s.mean * scale, digits);
  return fmt::format("{:.{}f} ± {:.{}f}", s.mean * scale, digits, s.sd * scale, digits);
}

double get(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : std::nan("");
}

}  // namespace

std::vector<std::vector<SuitePoint>> plan_suite(const std::string& file, const SuiteSpec& suite,
                                                const std::vector<std::string>& overrides) {
  const auto seeds = suite.seeds.empty() ? std::vector<uint64_t>{load_experiment(file, overrides).seed} : suite.seeds;
  std::vector<std::vector<SuitePoint>> plan;
  for (const auto& run : suite.runs) {
    plan.emplace_back();
    for (auto seed : seeds) {
      auto all = overrides;
      all.insert(all.end(), run.overrides.begin(), run.overrides.end());
      all.push_back(fmt::format("seed={}", seed));
      try {
        plan.back().push_back({run.file.empty() ? load_experiment(file, all) : validate_file(run.file, all), all});
      } catch (const ConfigError& e) {
        throw ConfigError(fmt::format("{} (suite run '{}')", e.what(), run.name));
      }
    }
  }
  return plan;
}

RunResult run_suite(const std::string& file, const SuiteSpec& suite, const std::vector<std::string>& overrides,
                    const RunOptions& options) {
  const auto base_spec = load_experiment(file, overrides);
  const auto seeds = suite.seeds.empty() ? std::vector<uint64_t>{base_spec.seed} : suite.seeds;
  const auto plan = plan_suite(file, suite, overrides);  // every run validated before any trains
  const fs::path base = prepare_group_directory(base_spec, options);

  struct Row {
    const SuiteRun* run;
    Stat test, valid, jac, sat, ll;
  };
  std::vector<Row> rows;
  for (size_t i = 0; i < suite.runs.size(); ++i) {
    std::vector<double> test, valid, jac, sat, ll;
    for (size_t k = 0; k < seeds.size(); ++k) {
      std::printf("suite run %s, seed %llu\n", suite.runs[i].name.c_str(), static_cast<unsigned long long>(seeds[k]));
      std::fflush(stdout);
      const auto point_dir = (base / suite.runs[i].name / fmt::format("seed-{}", seeds[k])).string();
      nlohmann::json summary;
      if (suite.runs[i].file.empty()) {
        summary = run_point(plan[i][k].spec, options, point_dir);
      } else if (options.resume && fs::exists(fs::path(point_dir) / "summary.json")) {
        std::ifstream(fs::path(point_dir) / "summary.json") >> summary;
      } else {
        RunOptions o = options;
        o.out = point_dir;
        o.force = false;
        o.resume = options.resume && (fs::exists(fs::path(point_dir) / "checkpoint.pt") ||
                                      fs::exists(fs::path(point_dir) / "layer-1"));
        summary = run_file(suite.runs[i].file, plan[i][k].overrides, o).summary;
      }
      if (summary.is_null()) return {base.string(), {}};  // interrupted (tests)
      test.push_back(get(summary, "test_error"));
      valid.push_back(get(summary, "valid_error"));
      jac.push_back(get(summary, "jacobian_fro_mean"));
      sat.push_back(get(summary, "saturation"));
      ll.push_back(get(summary, "log_likelihood"));
    }
    rows.push_back({&suite.runs[i], stat(test), stat(valid), stat(jac), stat(sat), stat(ll)});
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    const double x = std::isfinite(a.test.mean) ? a.test.mean : 1e300, y = std::isfinite(b.test.mean) ? b.test.mean : 1e300;
    return x < y;
  });
  std::string md = fmt::format(
      "# {}\n\n{} seed{} per run ({}); mean ± standard deviation over seeds. Errors in %, at the "
      "fine-tuning epoch of lowest validation error; ‖J‖_F and SAT of the pretrained encoder on the test split.\n\n"
      "| rank | model | test error | valid error | mean ‖J_f(x)‖_F | SAT | paper test error |\n"
      "|---:|---|---:|---:|---:|---:|---:|\n",
      base_spec.name, seeds.size(), seeds.size() == 1 ? "" : "s", fmt::join(seeds, ", "));
  std::string csv = "rank,model,test_error_mean,test_error_sd,valid_error_mean,valid_error_sd,jacobian_fro_mean,"
                    "jacobian_fro_sd,saturation_mean,saturation_sd,log_likelihood_mean,paper_test_error,seeds\n";
  nlohmann::json table = nlohmann::json::array();
  const auto num = [](double v) { return std::isfinite(v) ? fmt::format("{:.9g}", v) : std::string(); };
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto& row = rows[r];
    const double paper = row.run->paper_test_error;
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", r + 1, row.run->name, show(row.test, 100, 2),
                      show(row.valid, 100, 2), show(row.jac, 1, 2), show(row.sat, 100, 1),
                      paper >= 0 ? fmt::format("{:.2f}", paper * 100) : "–");
    csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{}\n", r + 1, row.run->name, num(row.test.mean), num(row.test.sd),
                       num(row.valid.mean), num(row.valid.sd), num(row.jac.mean), num(row.jac.sd), num(row.sat.mean),
                       num(row.sat.sd), num(row.ll.mean), paper >= 0 ? num(paper) : "", seeds.size());
    table.push_back({{"rank", r + 1}, {"model", row.run->name}, {"test_error", row.test.mean}, {"test_error_sd", num(row.test.sd)},
                     {"jacobian_fro_mean", row.jac.mean}, {"saturation", row.sat.mean}});
  }
  data::write_text_file((base / "table.md").string(), md);
  data::write_text_file((base / "table.csv").string(), csv);
  std::printf("\n%s", md.c_str());
  return {base.string(), {{"table", table}}};
}

}  // namespace carve
