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
#include "carve/train/stack.h"
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
    s.sweep = parse_sweep(run.node("sweep"), file, fmt::format("suite.runs[{}].sweep", i));
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
    const auto load = [&](const std::vector<std::string>& all) {
      return run.file.empty() ? load_experiment(file, all) : validate_file(run.file, all);
    };
    for (auto seed : seeds) {
      auto all = overrides;
      all.insert(all.end(), run.overrides.begin(), run.overrides.end());
      all.push_back(fmt::format("seed={}", seed));
      try {
        plan.back().push_back({load(all), all});
        // Any sweep point may win, and then runs with every seed.
        for (const auto& point : sweep_grid(run.sweep)) {
          if (point.empty()) break;
          auto with_point = all;
          with_point.insert(with_point.end(), point.begin(), point.end());
          try {
            load(with_point);
          } catch (const ConfigError& e) {
            throw ConfigError(fmt::format("{} (sweep point {})", e.what(), fmt::join(point, ", ")));
          }
        }
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

  // One run of the suite at `all` into `dir`: this file's configuration, or another file.
  const auto run_at = [&](const SuiteRun& run, const std::vector<std::string>& all, const fs::path& dir) {
    nlohmann::json summary;
    if (run.file.empty()) return run_point(load_experiment(file, all), options, dir.string());
    if (options.resume && fs::exists(dir / "summary.json")) {
      const auto layers = load_stack(run.file);
      if (layers.empty()) {
        check_finished_run(dir.string(), load_experiment(run.file, all));
      } else {
        check_finished_stack(dir.string(), load_experiment(run.file, all), stack_layer_specs(run.file, layers, all));
      }
      std::ifstream(dir / "summary.json") >> summary;
      return summary;
    }
    RunOptions o = options;
    o.out = dir.string();
    o.force = false;
    o.resume = options.resume && (fs::exists(dir / "checkpoint.pt") || fs::exists(dir / "layer-1"));
    return run_file(run.file, all, o).summary;
  };

  struct Row {
    const SuiteRun* run;
    Stat test, valid, jac, sat, ll;
    std::string chosen;
  };
  std::vector<Row> rows;
  bool swept = false;
  for (size_t i = 0; i < suite.runs.size(); ++i) {
    const auto& run = suite.runs[i];
    const fs::path run_dir = base / run.name;
    std::vector<std::string> chosen;
    fs::path winner;
    if (!run.sweep.empty()) {
      swept = true;
      const auto points = sweep_grid(run.sweep);
      std::vector<SweepResult> done;
      for (size_t p = 0; p < points.size(); ++p) {
        std::printf("suite run %s, sweep point %zu/%zu: %s (seed %llu)\n", run.name.c_str(), p + 1, points.size(),
                    sweep_point_name(points[p]).c_str(), static_cast<unsigned long long>(seeds.front()));
        std::fflush(stdout);
        auto all = plan[i][0].overrides;
        all.insert(all.end(), points[p].begin(), points[p].end());
        const auto summary = run_at(run, all, run_dir / "sweep" / sweep_point_name(points[p]));
        if (summary.is_null()) return {base.string(), {}};  // interrupted (tests)
        done.push_back({points[p], summary});
      }
      rank_sweep(done, fmt::format("{}: {}, chosen on the validation split", base_spec.name, run.name),
                 (run_dir / "sweep").string());
      chosen = done.front().point;
      winner = run_dir / "sweep" / sweep_point_name(chosen);
    }
    std::vector<double> test, valid, jac, sat, ll;
    for (size_t k = 0; k < seeds.size(); ++k) {
      const fs::path point_dir = run_dir / fmt::format("seed-{}", seeds[k]);
      nlohmann::json summary;
      if (k == 0 && !winner.empty()) {
        // The winning point ran with this seed already: the same configuration, so copy it.
        if (!fs::exists(point_dir / "summary.json")) {
          const fs::path partial = point_dir.string() + ".partial";
          fs::remove_all(partial);
          fs::remove_all(point_dir);
          fs::copy(winner, partial, fs::copy_options::recursive);
          fs::rename(partial, point_dir);
        }
        std::ifstream(point_dir / "summary.json") >> summary;
      } else {
        std::printf("suite run %s, seed %llu\n", run.name.c_str(), static_cast<unsigned long long>(seeds[k]));
        std::fflush(stdout);
        auto all = plan[i][k].overrides;
        all.insert(all.end(), chosen.begin(), chosen.end());
        summary = run_at(run, all, point_dir);
      }
      if (summary.is_null()) return {base.string(), {}};  // interrupted (tests)
      test.push_back(get(summary, "test_error"));
      valid.push_back(get(summary, "valid_error"));
      jac.push_back(get(summary, "jacobian_fro_mean"));
      sat.push_back(get(summary, "saturation"));
      ll.push_back(get(summary, "log_likelihood"));
    }
    rows.push_back({&run, stat(test), stat(valid), stat(jac), stat(sat), stat(ll), fmt::format("{}", fmt::join(chosen, ", "))});
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    const double x = std::isfinite(a.test.mean) ? a.test.mean : 1e300, y = std::isfinite(b.test.mean) ? b.test.mean : 1e300;
    return x < y;
  });
  std::string md = fmt::format(
      "# {}\n\n{} seed{} per run ({}); mean ± standard deviation over seeds. Errors in %, at the "
      "fine-tuning epoch of lowest validation error; ‖J‖_F and SAT of the pretrained encoder on the test split.\n\n"
      "| rank | model | test error | valid error | mean ‖J_f(x)‖_F | SAT | paper test error |{}\n"
      "|---:|---|---:|---:|---:|---:|---:|{}\n",
      base_spec.name, seeds.size(), seeds.size() == 1 ? "" : "s", fmt::join(seeds, ", "),
      swept ? " chosen on valid |" : "", swept ? "---|" : "");
  std::string csv = "rank,model,test_error_mean,test_error_sd,valid_error_mean,valid_error_sd,jacobian_fro_mean,"
                    "jacobian_fro_sd,saturation_mean,saturation_sd,log_likelihood_mean,paper_test_error,seeds,chosen\n";
  nlohmann::json table = nlohmann::json::array();
  const auto num = [](double v) { return std::isfinite(v) ? fmt::format("{:.9g}", v) : std::string(); };
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto& row = rows[r];
    const double paper = row.run->paper_test_error;
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} |{}\n", r + 1, row.run->name, show(row.test, 100, 2),
                      show(row.valid, 100, 2), show(row.jac, 1, 2), show(row.sat, 100, 1),
                      paper >= 0 ? fmt::format("{:.2f}", paper * 100) : "–",
                      swept ? fmt::format(" {} |", row.chosen.empty() ? "–" : row.chosen) : "");
    std::string quoted;  // one CSV field: commas kept inside quotes, quotes doubled
    for (char c : row.chosen) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},\"{}\"\n", r + 1, row.run->name, num(row.test.mean),
                       num(row.test.sd), num(row.valid.mean), num(row.valid.sd), num(row.jac.mean), num(row.jac.sd),
                       num(row.sat.mean), num(row.sat.sd), num(row.ll.mean), paper >= 0 ? num(paper) : "", seeds.size(),
                       quoted);
    table.push_back({{"rank", r + 1}, {"model", row.run->name}, {"test_error", row.test.mean}, {"test_error_sd", num(row.test.sd)},
                     {"jacobian_fro_mean", row.jac.mean}, {"saturation", row.sat.mean}, {"chosen", row.chosen}});
  }
  data::write_text_file((base / "table.md").string(), md);
  data::write_text_file((base / "table.csv").string(), csv);
  std::printf("\n%s", md.c_str());
  return {base.string(), {{"table", table}}};
}

}  // namespace carve
