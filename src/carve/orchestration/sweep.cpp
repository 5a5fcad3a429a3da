#include "carve/orchestration/sweep.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>

#include "carve/csv.h"
#include "carve/data/file_bytes.h"
#include "carve/error.h"
#include "carve/report/analysis.h"
#include "carve/train/run_dir.h"
#include "carve/train/run_directory.h"
#include "carve/orchestration/plan.h"
#include "carve/orchestration/stack.h"
#include "carve/orchestration/suite.h"

namespace carve {

namespace fs = std::filesystem;

std::string sweep_point_name(const std::vector<std::string>& point) {
  std::string name;
  for (const auto& a : point) {
    std::string key = a.substr(0, a.find('='));
    const auto dot = key.rfind('.');
    // The last two parts of the key say enough: regularizers.contractive.weight -> contractive.weight;
    // fine-tuning's keys keep their section (finetune.optimizer.lr is not pretraining's optimizer.lr).
    const auto prev = dot == std::string::npos ? std::string::npos : key.rfind('.', dot - 1);
    if (prev != std::string::npos && key.rfind("finetune.", 0) != 0) key = key.substr(prev + 1);
    name += (name.empty() ? "" : ",") + key + "=" + a.substr(a.find('=') + 1);
  }
  return safe_file_name(name);
}

std::string safe_file_name(std::string name) {
  for (auto& c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '=' || c == ',' || c == '-' || c == '_')) c = '_';
  }
  return name;
}

RunResult run_one(const ExperimentSpec& spec, const RunOptions& options) {
  auto result = run_experiment(spec, options);
  if (spec.analysis.enabled) {
    AnalysisOptions a;
    a.points = spec.analysis.points;
    a.radii = spec.analysis.radii;
    a.seed = spec.analysis.seed;
    try {
      analyze_run(result.directory, a);
    } catch (...) {
      // The run is finished only once its analysis is: without summary.json, --resume
      // reads the trained run back from its checkpoint and analyzes it again.
      std::error_code ignored;
      fs::remove(fs::path(result.directory) / "summary.json", ignored);
      throw;
    }
    notify(options.observers, fmt::format("analysis: {}/report.md", result.directory));
  }
  return result;
}

std::string prepare_group_directory(const ExperimentSpec& spec, const RunOptions& options) {
  const auto base = options.out.empty() ? default_run_directory(spec) : options.out;
  return RunDirectory::open_group(base, RunDirectory::mode(options.resume, options.force)).path().string();
}

nlohmann::json read_summary(const std::string& dir) {
  nlohmann::json summary;
  std::ifstream(fs::path(dir) / "summary.json") >> summary;
  return summary;
}

nlohmann::json run_point(const ExperimentSpec& spec, const RunOptions& options, const std::string& dir) {
  RunOptions o = options;
  o.force = false;
  o.out = dir;
  const fs::path summary_path = fs::path(dir) / "summary.json";
  // Finished before: read back, unless a key that may grow grew (training.epochs,
  // finetune.epochs), where it continues from its checkpoint like a single run.
  if (options.resume && fs::exists(summary_path) && !check_resumable(dir, spec, /*finished=*/false)) {
    check_data_recorded(dir, spec.data.dataset);
    return read_summary(dir);
  }
  o.resume = options.resume && fs::exists(dir);  // one stopped before its checkpoint starts afresh
  return run_one(spec, o).summary;
}

ExperimentSpec validate_file(const std::string& file, const std::vector<std::string>& overrides) {
  const auto spec = load_experiment(file, overrides);
  if (!spec.sweep.empty() || !load_suite(file).runs.empty()) {
    throw ConfigError(fmt::format("{}: a suite run's file cannot hold a sweep or a suite", file));
  }
  stack_layer_specs(file, load_stack(file), overrides);
  return spec;
}

void validate_all(const std::string& file, const std::vector<std::string>& overrides) {
  load_experiment(file, overrides);  // sweep points included
  const auto suite = load_suite(file);
  if (!suite.runs.empty()) plan_suite(file, suite, overrides);
  stack_layer_specs(file, load_stack(file), overrides);
}

RunResult run_file(const std::string& file, const std::vector<std::string>& overrides, const RunOptions& options) {
  return execute_plan(make_plan(file, overrides, options.out), options);
}

namespace {

// summary[outer][inner], or null where a summary lacks it (a stack's has no per-epoch record).
nlohmann::json field(const nlohmann::json& summary, const char* outer, const char* inner = nullptr) {
  if (!summary.is_object() || !summary.contains(outer)) return nullptr;
  const auto& v = summary[outer];
  if (inner == nullptr) return v;
  return v.is_object() && v.contains(inner) ? v[inner] : nlohmann::json();
}

}  // namespace

double sweep_score(const nlohmann::json& s) {
  // Fine-tuned runs rank by validation classification error, as the paper chose hyperparameters.
  for (const auto& v : {field(s, "valid_error"), field(s, "best", "valid_reconstruction"), field(s, "final", "reconstruction")}) {
    if (v.is_number()) return v.get<double>();
  }
  return std::numeric_limits<double>::infinity();
}

namespace {

// "key=value" -> {key, value}.
std::pair<std::string, std::string> assignment(const std::string& a) {
  const auto eq = a.find('=');
  return {a.substr(0, eq), eq == std::string::npos ? std::string() : a.substr(eq + 1)};
}

}  // namespace

nlohmann::json rank_sweep(std::vector<SweepResult>& done, const std::string& title, const std::string& dir,
                          const Observers& observers) {
  std::stable_sort(done.begin(), done.end(),
                   [](const SweepResult& a, const SweepResult& b) { return sweep_score(a.summary) < sweep_score(b.summary); });
  // sweep.csv keeps nine significant digits; sweep.md shows four (percentages two decimals), as
  // every Markdown table of carve. A number a point lacks is `nan` in the CSV (as in every CSV
  // carve writes: a reader's float column stays one) and "–" in the Markdown.
  const auto num = [](const nlohmann::json& v) { return v.is_number() ? fmt::format("{:.9g}", v.get<double>()) : std::string("nan"); };
  const auto sig = [](const nlohmann::json& v) { return v.is_number() ? fmt::format("{:.4g}", v.get<double>()) : std::string("–"); };
  const auto percent = [](const nlohmann::json& v) { return v.is_number() ? fmt::format("{:.2f}", 100 * v.get<double>()) : std::string("–"); };
  // One column per swept key (full path), to plot against, before the metrics.
  std::vector<std::string> keys;
  if (!done.empty())
    for (const auto& a : done.front().point) keys.push_back(assignment(a).first);
  std::vector<std::string> header{"rank", "point"};
  header.insert(header.end(), keys.begin(), keys.end());
  for (const char* m : {"valid_reconstruction", "test_reconstruction", "final_reconstruction", "jacobian_fro_mean",
                        "saturation", "best_epoch", "valid_error", "test_error"})
    header.push_back(m);
  std::string csv = csv_row(header);
  // Fine-tuned points show the classification errors they are ranked by.
  const bool finetuned = !done.empty() && field(done.front().summary, "valid_error").is_number();
  std::string md = fmt::format("# {}\n\nRanked by validation {} error (lower is better). {} in % "
                               "(sweep.csv: fractions).\n\n"
                               "| rank | point |{} valid rec. | test rec. | final train rec. | mean ‖J‖_F | SAT % | best epoch |\n"
                               "|---:|---|{}---:|---:|---:|---:|---:|---:|\n",
                               title, finetuned ? "classification" : "reconstruction", finetuned ? "Errors and SAT" : "SAT",
                               finetuned ? " valid error | test error |" : "", finetuned ? "---:|---:|" : "");
  nlohmann::json table = nlohmann::json::array();
  for (size_t r = 0; r < done.size(); ++r) {
    const auto& s = done[r].summary;
    const auto name = sweep_point_name(done[r].point);
    // A stack reports its chain's Jacobian norm and saturation at the top level.
    const auto jac = field(s, "best", "jacobian_fro_mean").is_number() ? field(s, "best", "jacobian_fro_mean") : field(s, "jacobian_fro_mean");
    const auto sat = field(s, "best", "saturation").is_number() ? field(s, "best", "saturation") : field(s, "saturation");
    const std::vector<std::string> cells{num(field(s, "best", "valid_reconstruction")), num(field(s, "best", "test_reconstruction")),
                                         num(field(s, "final", "reconstruction")), num(jac), num(sat), num(field(s, "best_epoch"))};
    const std::vector<std::string> shown{sig(field(s, "best", "valid_reconstruction")), sig(field(s, "best", "test_reconstruction")),
                                         sig(field(s, "final", "reconstruction")), sig(jac), percent(sat),
                                         num(field(s, "best_epoch"))};
    std::vector<std::string> row{std::to_string(r + 1), name};
    for (const auto& a : done[r].point) row.push_back(assignment(a).second);
    row.insert(row.end(), cells.begin(), cells.end());
    row.push_back(num(field(s, "valid_error")));
    row.push_back(num(field(s, "test_error")));
    csv += csv_row(row);
    const std::string errors = finetuned ? fmt::format(" {} | {} |", percent(field(s, "valid_error")), percent(field(s, "test_error"))) : "";
    md += fmt::format("| {} | {} |{} {} |\n", r + 1, name, errors, fmt::join(shown, " | "));
    table.push_back({{"rank", r + 1}, {"point", name}, {"summary", s}});
  }
  data::write_text_file((fs::path(dir) / "sweep.csv").string(), csv);
  data::write_text_file((fs::path(dir) / "sweep.md").string(), md);
  notify(observers, "\n" + md);
  return table;
}

}  // namespace carve
