// Analysis of a run, and comparison of runs, as CSV and PNG (carve analyze, carve compare).
//
// RUN_DIR/analysis/ receives:
//   contraction.csv / .png   mean ||f(x1) - f(x0)|| / ||x1 - x0|| against the radius r, per layer
//   spectrum.csv / .png      singular values of J_f(x) (exact, autograd), sorted, mean over points
//   saturation.csv, activations.png   histogram of the hidden activations
//   filters.png              the encoder's weight rows as an image grid
//   reconstructions.png      evaluation examples (top row) and their reconstructions (bottom)
//   training-*.png           curves from metrics.csv
//   analysis.json            the numbers above in one place
// and RUN_DIR/report.md links them with the run's summary.
//
// Points come from the run's validation split (else test, else train), the first `points`.
// Plots are drawn by matplotlib (tools/plot/carve_plot.py); image grids are written directly.
//
//   carve::AnalysisOptions o; o.points = 100;
//   carve::analyze_run("runs/cae", o);
//   carve::compare_runs({"runs/ae", "runs/cae"}, "runs/compare", o);
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "carve/resources.h"

namespace carve {

/// Options of an analysis (the `analysis:` block, `carve analyze` flags).
struct AnalysisOptions {
  int64_t points = 100;
  std::vector<double> radii{0.25, 0.5, 1, 2, 3, 4, 6, 8, 10, 12};
  uint64_t seed = 0;
  std::string python = python_interpreter();  ///< runs the plotter ($CARVE_PYTHON, carve/resources.h)
  std::string plotter;  // default: plot/carve_plot.py of carve's shared files (carve/resources.h)
  /// Told what the analysis is doing, stage by stage (the CLI prints it; the library never prints).
  std::function<void(const std::string&)> progress;
};

/// Analyzes one run directory (file comment) and returns analysis.json's numbers; compare_runs
/// overlays several runs into out_dir (`carve compare`), writing nothing outside it: a run not
/// analyzed yet is analyzed into OUT/runs/<k>-<label>/, never into the run.
nlohmann::json analyze_run(const std::string& run_dir, const AnalysisOptions& options);
/// The same into `out` (its CSV, PNG and analysis.json), with no report.md.
nlohmann::json analyze_run_into(const std::string& run_dir, const std::string& out, const AnalysisOptions& options);
void compare_runs(const std::vector<std::string>& run_dirs, const std::string& out_dir, const AnalysisOptions& options);

}  // namespace carve
