#include "carve/orchestration/suite.h"

#include "carve/config/yaml_reader.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <fmt/ranges.h>

#include <map>
#include <set>
#include <sstream>

#include "carve/csv.h"
#include "carve/config/yaml_reader.h"
#include "carve/data/file_bytes.h"
#include "carve/orchestration/stack.h"
#include "carve/orchestration/sweep.h"
#include "carve/error.h"
#include "carve/metrics/paper_units.h"
#include "carve/metrics/significance.h"

namespace carve {

namespace fs = std::filesystem;

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

// Four significant digits, as every Markdown table of carve shows a measured quantity.
std::string show_significant(const Stat& s) {
  if (s.count == 0) return "–";
  if (!std::isfinite(s.sd)) return fmt::format("{:.4g}", s.mean);
  return fmt::format("{:.4g} ± {:.2g}", s.mean, s.sd);
}

double get(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : std::nan("");
}

// A published value for the table: "–" when the row has none.
std::string published(double v, double scale, const char* format) {
  return v >= 0 ? fmt::format(fmt::runtime(format), v * scale) : "–";
}

// The candidate units (summary.json's paper_units.candidates.<group>) of a row, each averaged over
// the seeds that report it.
std::map<std::string, double> mean_candidates(const std::vector<nlohmann::json>& summaries, const char* group) {
  std::map<std::string, std::vector<double>> values;
  for (const auto& summary : summaries) {
    if (!summary.contains("paper_units") || !summary["paper_units"].contains("candidates")) continue;
    const auto& candidates = summary["paper_units"]["candidates"];
    if (!candidates.contains(group)) continue;
    for (const auto& [name, v] : candidates[group].items()) values[name].push_back(v.is_number() ? v.get<double>() : std::nan(""));
  }
  std::map<std::string, double> means;
  for (const auto& [name, v] : values) means[name] = stat(v).mean;
  return means;
}

// How the candidate units fit the rows' published values (carve/metrics/paper_units.h), as a
// Markdown paragraph; "" when fewer than two rows carry one.
std::string fit_section(const std::vector<std::map<std::string, double>>& ours, const std::vector<double>& paper,
                        FitScale scale, const std::string& what, const std::string& chosen) {
  std::vector<std::map<std::string, double>> rows_ours;
  std::vector<double> rows_paper;
  for (size_t r = 0; r < ours.size(); ++r) {
    if (paper[r] > 0 && !ours[r].empty()) {
      rows_ours.push_back(ours[r]);
      rows_paper.push_back(paper[r]);
    }
  }
  if (rows_paper.size() < 2) return "";
  const auto fits = fit_candidates(rows_ours, rows_paper, scale);
  const bool log = scale == FitScale::log10;
  std::string md = fmt::format(
      "\n{} against the paper's column over the {} rows that have one: {} (smaller fits better; "
      "bias: its mean, what a free {} would remove). The table shows `{}`.\n\n| candidate | RMS | bias |\n|---|---:|---:|\n",
      what, rows_paper.size(),
      log ? "root mean square of log10(ours / paper)" : "root mean square of ours − paper in percentage points",
      log ? "scale" : "shift", chosen);
  for (const auto& f : fits) {
    md += fmt::format("| {} | {:.3f} | {:+.3f} |\n", f.name == chosen ? "**" + f.name + "**" : f.name, f.rms, f.bias);
  }
  return md;
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
        // A key of the run's `set` or `sweep` is located there, not as a --set.
        auto origins = sweep_origins(run.sweep);  // a swept key's place wins over a `set` of it
        origins.insert(run.origins.begin(), run.origins.end());
        throw ConfigError(fmt::format("{} (suite run '{}')", config::relocate_overrides(e.what(), origins), run.name));
      }
    }
  }
  return plan;
}

namespace {

// A run's test_predictions.csv as (example index -> correct), or empty when it has none.
std::map<int64_t, bool> read_predictions(const fs::path& file) {
  std::map<int64_t, bool> correct;
  std::ifstream in(file);
  if (!in) return correct;
  std::string line;
  std::getline(in, line);  // header
  int number = 1;
  while (std::getline(in, line)) {
    ++number;
    int64_t index = 0, label = 0, prediction = 0;
    char c1 = 0, c2 = 0;
    std::istringstream fields(line);
    if (!(fields >> index >> c1 >> label >> c2 >> prediction) || c1 != ',' || c2 != ',') {
      throw DataError(fmt::format("{}:{}: expected index,label,prediction, got '{}'", file.string(), number, line));
    }
    correct[index] = label == prediction;
  }
  return correct;
}

// A row's test predictions pooled over its seeds: (seed position, example index) -> correct.
struct Pooled {
  std::map<std::pair<size_t, int64_t>, bool> correct;
  bool complete = false;  // every seed's run left its predictions
};

Pooled pooled_predictions(const std::vector<std::string>& directories) {
  Pooled p;
  p.complete = !directories.empty();
  for (size_t s = 0; s < directories.size(); ++s) {
    const auto seed = read_predictions(fs::path(directories[s]) / "test_predictions.csv");
    if (seed.empty()) p.complete = false;
    for (const auto& [index, ok] : seed) p.correct[{s, index}] = ok;
  }
  return p;
}

}  // namespace

nlohmann::json write_suite_table(const std::string& dir, const std::string& name, const std::vector<uint64_t>& seeds,
                                 const std::vector<SuiteRow>& suite_rows, const Observers& observers) {
  const fs::path base(dir);
  struct Row {
    const SuiteRun* run;
    Stat test, valid, jac, sat, ll, jac_paper_units, sat_paper_units;
    std::string chosen;
    std::map<std::string, double> jacobian_candidates, saturation_candidates;
    Pooled pooled;
    Interval ci{std::nan(""), std::nan("")};
    double mcnemar = std::nan("");
    bool bold = false;
  };
  std::vector<Row> rows;
  bool swept = false;
  for (const auto& r : suite_rows) {
    std::vector<double> test, valid, jac, sat, ll, jac_pu, sat_pu;
    for (const auto& summary : r.summaries) {
      test.push_back(get(summary, "test_error"));
      valid.push_back(get(summary, "valid_error"));
      jac.push_back(get(summary, "jacobian_fro_mean"));
      sat.push_back(get(summary, "saturation"));
      ll.push_back(get(summary, "log_likelihood"));
      const auto units = summary.value("paper_units", nlohmann::json::object());
      jac_pu.push_back(get(units, "jacobian"));
      sat_pu.push_back(get(units, "saturation"));
    }
    swept = swept || !r.run->sweep.empty();
    Row row{r.run, stat(test), stat(valid), stat(jac), stat(sat), stat(ll), stat(jac_pu), stat(sat_pu),
            fmt::format("{}", fmt::join(r.chosen, ", "))};
    row.jacobian_candidates = mean_candidates(r.summaries, "jacobian");
    row.saturation_candidates = mean_candidates(r.summaries, "saturation");
    row.pooled = pooled_predictions(r.directories);
    if (row.pooled.complete) {
      const auto errors = std::count_if(row.pooled.correct.begin(), row.pooled.correct.end(),
                                        [](const auto& example) { return !example.second; });
      row.ci = wilson_interval(errors, static_cast<int64_t>(row.pooled.correct.size()));
    }
    rows.push_back(std::move(row));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    const double x = std::isfinite(a.test.mean) ? a.test.mean : 1e300, y = std::isfinite(b.test.mean) ? b.test.mean : 1e300;
    return x < y;
  });
  // Significance against the best row (rank 1): intervals that overlap its own are not
  // distinguishable from it (bold, as in the paper); McNemar pairs the same examples of the same seeds.
  const bool significance = !rows.empty() && rows.front().pooled.complete;
  for (auto& row : rows) {
    if (!significance || !row.pooled.complete) continue;
    const auto& best = rows.front();
    row.bold = &row == &best || row.ci.low <= best.ci.high;
    if (&row == &best) continue;
    int64_t only_row = 0, only_best = 0, paired = 0;
    for (const auto& [key, ok] : row.pooled.correct) {
      const auto other = best.pooled.correct.find(key);
      if (other == best.pooled.correct.end()) continue;
      ++paired;
      only_row += !ok && other->second;
      only_best += ok && !other->second;
    }
    if (paired > 0) row.mcnemar = mcnemar_p(only_row, only_best);
  }
  std::string md = fmt::format(
      "# {}\n\n{} seed{} per run ({}); mean ± standard deviation over seeds. Errors and SAT in % (table.csv: "
      "fractions), errors at the fine-tuning epoch of lowest validation error; ‖J‖_F and SAT of the pretrained encoder on "
      "the test split; the paper's units are {} for J and {} for SAT (summary.json paper_units, chosen by their fit to "
      "the paper's MNIST rows), and the paper columns hold the published values of rows that carry them.{}\n\n"
      "| rank | model | test error | paper | 95% interval | McNemar p vs best | valid error | mean ‖J_f(x)‖_F | SAT % "
      "| J, paper units | paper | SAT, paper units % | paper |{}\n"
      "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|{}\n",
      name, seeds.size(), seeds.size() == 1 ? "" : "s", fmt::join(seeds, ", "), kChosenJacobian, kChosenSaturation,
      significance ? " The interval is Wilson's 95% interval of the test error pooled over the seeds' predictions; "
                     "McNemar's exact test pairs the same test examples of the same seeds with the best row's. In bold: "
                     "the best row and every row whose interval overlaps the best's (not significantly worse)."
                   : "",
      swept ? " chosen on valid |" : "", swept ? "---|" : "");
  std::string csv = "rank,model,test_error_mean,test_error_sd,test_error_ci_low,test_error_ci_high,mcnemar_p,"
                    "not_worse_than_best,valid_error_mean,valid_error_sd,jacobian_fro_mean,"
                    "jacobian_fro_sd,saturation_mean,saturation_sd,log_likelihood_mean,paper_test_error,"
                    "jacobian_paper_units_mean,jacobian_paper_units_sd,paper_jacobian,saturation_paper_units_mean,"
                    "saturation_paper_units_sd,paper_saturation,seeds,chosen\n";
  nlohmann::json table = nlohmann::json::array();
  const auto num = [](double v) { return std::isfinite(v) ? fmt::format("{:.9g}", v) : std::string(); };
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto& row = rows[r];
    const auto& paper = row.run->paper;
    const auto bold = [&](const std::string& text) { return row.bold ? "**" + text + "**" : text; };
    const std::string interval =
        std::isfinite(row.ci.low) ? fmt::format("{:.2f}–{:.2f}", row.ci.low * 100, row.ci.high * 100) : "–";
    const std::string p_value = &row == &rows.front() || !std::isfinite(row.mcnemar) ? "–"
                                : row.mcnemar < 1e-4                                 ? "< 0.0001"
                                                                                     : fmt::format("{:.4g}", row.mcnemar);
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |{}\n", r + 1,
                      bold(row.run->name), bold(show(row.test, 100, 2)), published(paper.test_error, 100, "{:.2f}"),
                      interval, p_value, show(row.valid, 100, 2), show_significant(row.jac), show(row.sat, 100, 2),
                      show_significant(row.jac_paper_units), published(paper.jacobian, 1, "{:.3g}"),
                      show(row.sat_paper_units, 100, 2), published(paper.saturation, 100, "{:.2f}"),
                      swept ? fmt::format(" {} |", row.chosen.empty() ? "–" : row.chosen) : "");
    csv += csv_row({std::to_string(r + 1), row.run->name, num(row.test.mean), num(row.test.sd), num(row.ci.low),
                    num(row.ci.high), num(row.mcnemar), significance && row.pooled.complete ? (row.bold ? "1" : "0") : "",
                    num(row.valid.mean),
                    num(row.valid.sd), num(row.jac.mean), num(row.jac.sd), num(row.sat.mean), num(row.sat.sd),
                    num(row.ll.mean), paper.test_error >= 0 ? num(paper.test_error) : "", num(row.jac_paper_units.mean),
                    num(row.jac_paper_units.sd), paper.jacobian >= 0 ? num(paper.jacobian) : "",
                    num(row.sat_paper_units.mean), num(row.sat_paper_units.sd),
                    paper.saturation >= 0 ? num(paper.saturation) : "", std::to_string(seeds.size()), row.chosen});
    table.push_back({{"rank", r + 1}, {"model", row.run->name}, {"test_error", row.test.mean}, {"test_error_sd", num(row.test.sd)},
                     {"jacobian_fro_mean", row.jac.mean}, {"saturation", row.sat.mean}, {"chosen", row.chosen},
                     {"test_error_ci", {num(row.ci.low), num(row.ci.high)}}, {"mcnemar_p", num(row.mcnemar)},
                     {"not_worse_than_best", row.bold}, {"jacobian_paper_units", row.jac_paper_units.mean},
                     {"saturation_paper_units", row.sat_paper_units.mean}});
  }
  // The candidate units against the published columns (issue 16, point 1).
  std::vector<std::map<std::string, double>> jac_ours, sat_ours;
  std::vector<double> jac_paper, sat_paper;
  for (const auto& row : rows) {
    jac_ours.push_back(row.jacobian_candidates);
    sat_ours.push_back(row.saturation_candidates);
    jac_paper.push_back(row.run->paper.jacobian);
    sat_paper.push_back(row.run->paper.saturation);
  }
  md += fit_section(jac_ours, jac_paper, FitScale::log10, "The Jacobian's candidate units", kChosenJacobian);
  md += fit_section(sat_ours, sat_paper, FitScale::percentage_points, "SAT's candidate thresholds", kChosenSaturation);
  // table.md last: it is what marks the task finished (plan.h, task_finished).
  data::write_text_file((base / "table.csv").string(), csv);
  data::write_text_file((base / "table.md").string(), md);
  notify(observers, "\n" + md);
  return table;
}

}  // namespace carve
