// carve bench run: where a whole run's wall time goes, and its share of its roofline
// (issue 29, point 2). The run is the library's own (make_plan + execute_task, as `carve run
// --task` runs it), with carve::profile on: its phases timed by the library's scopes, its
// products counted where they are made, each product shape timed alone every few epochs.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>

#include "carve/bench/benchmarks.h"
#include "carve/bench/measure.h"
#include "carve/error.h"
#include "carve/orchestration/plan.h"
#include "carve/profile.h"

namespace carve::bench {

namespace fs = std::filesystem;

namespace {

// A fresh directory for the run when --out is not given, removed when the bench ends.
struct ScratchDirectory {
  fs::path path;
  bool owned = false;
  explicit ScratchDirectory(const std::string& out) {
    if (!out.empty()) {
      path = out;
      return;
    }
    std::string pattern = (fs::temp_directory_path() / "carve-bench-run-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("carve bench run: cannot make a temporary directory");
    path = fs::path(pattern) / "run";
    owned = true;
  }
  ~ScratchDirectory() {
    std::error_code ignored;
    if (owned) fs::remove_all(path.parent_path(), ignored);
  }
};

nlohmann::json shape_json(const profile::Shape& s) {
  return {{"m", s.m}, {"k", s.k}, {"n", s.n}, {"a_transposed", s.a_transposed}, {"b_transposed", s.b_transposed}};
}

}  // namespace

nlohmann::json bench_run(const RunBenchConfig& c) {
  if (c.calibrate_every <= 0) {
    throw UsageError(fmt::format("--calibrate-every must be positive, got {}", c.calibrate_every));
  }
  // On the CPU (the roofline of this bench is the CPU's), without the analysis block: T_wall ends
  // at summary.json.
  auto overrides = c.set;
  overrides.push_back("device=cpu");
  overrides.push_back("analysis.enabled=false");
  ScratchDirectory out(c.out);
  const auto plan = make_plan(c.file, overrides, out.path.string());
  std::string task = c.task;
  if (task.empty()) {
    if (plan.tasks.size() != 1) {
      std::vector<std::string> ids;
      for (const auto& t : plan.tasks) ids.push_back(t.id);
      throw UsageError(fmt::format("{} has {} tasks: name one with --task (carve plan {} lists them: {})", c.file,
                                   plan.tasks.size(), c.file, fmt::join(ids, ", ")));
    }
    task = plan.tasks.front().id;
  }
  RunOptions options;
  options.out = plan.directory;
  options.command_line = "carve bench run " + c.file;
  profile::start(static_cast<int>(c.calibrate_every));
  const auto result = [&] {
    try {
      return execute_task(plan, task, options);
    } catch (...) {
      profile::stop();
      throw;
    }
  }();
  const auto report = profile::stop();

  const double wall = report.wall_seconds, roofline = report.roofline_seconds();
  nlohmann::json r{{"bench", "run"},
                   {"file", c.file},
                   {"task", task},
                   {"threads", torch::get_num_threads()},
                   {"wall_seconds", wall},
                   {"calibrations", report.calibrations},
                   {"calibration_seconds", report.calibration_seconds},
                   {"roofline_seconds", roofline},
                   {"roofline_fraction", wall > 0 ? roofline / wall : 0.0},
                   {"test_error", result.summary.value("test_error", nlohmann::json())},
                   {"phases", nlohmann::json::array()},
                   {"products", nlohmann::json::array()},
                   {"goals", nlohmann::json::array()}};
  if (!c.out.empty()) r["run_directory"] = result.directory;
  for (int p = 0; p < profile::kPhases; ++p) {
    double phase_roofline = 0;
    for (const auto& [key, total] : report.products) {
      if (std::get<0>(key) == p) phase_roofline += total.seconds;
    }
    const double seconds = report.seconds[p];
    r["phases"].push_back({{"phase", profile::to_string(static_cast<profile::Phase>(p))},
                           {"seconds", seconds},
                           {"share_of_wall", wall > 0 ? seconds / wall : 0.0},
                           {"roofline_seconds", phase_roofline},
                           {"roofline_fraction", seconds > 0 ? phase_roofline / seconds : 0.0}});
  }
  for (const auto& [key, total] : report.products) {
    r["products"].push_back({{"phase", profile::to_string(static_cast<profile::Phase>(std::get<0>(key)))},
                             {"name", std::get<1>(key)},
                             {"shape", shape_json(std::get<2>(key))},
                             {"count", total.count},
                             {"last_ms", total.last_ms},
                             {"seconds", total.seconds}});
  }
  // Issue 29's goal for a Table 1 CAE run at the paper's scale; printed for any run.
  r["goals"].push_back(goal("whole run: fraction of its roofline", r["roofline_fraction"], ">=", 0.70));
  return r;
}

}  // namespace carve::bench
