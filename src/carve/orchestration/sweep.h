// Sweeps: a `sweep:` block maps key paths to lists of values; every point of the grid runs into
// its own subdirectory of the run directory, and sweep.csv / sweep.md rank the points by their
// validation classification error when the file fine-tunes (the paper's rule for choosing
// hyperparameters), else by their best validation reconstruction (the final training
// reconstruction when there is no valid split).
//
//   carve::RunResult r = carve::run_file("sweep.yaml", {}, options);   // r.summary["sweep"]: ranked
#pragma once

#include <string>
#include <vector>

#include "carve/train/trainer.h"

namespace carve {

// Validates a file for run_file: its spec, and each layer of a stack. A suite or sweep inside is
// refused (they do not nest).
// Returns the file's spec.
ExperimentSpec validate_file(const std::string& file, const std::vector<std::string>& overrides);

// Everything run_file would validate before training: the spec, every sweep point, every suite
// run x seed, every stack layer. Throws ConfigError / UsageError.
void validate_all(const std::string& file, const std::vector<std::string>& overrides);

// Runs the experiment file: as a sweep, a suite or a stack when it has such a block.
RunResult run_file(const std::string& file, const std::vector<std::string>& overrides, const RunOptions& options);

// Runs one experiment, then its analysis when the file asks for one.
RunResult run_one(const ExperimentSpec& spec, const RunOptions& options);

// The directory that holds the points of a sweep or a suite: refused if it exists unless
// --resume (kept) or --force (recreated).
std::string prepare_group_directory(const ExperimentSpec& spec, const RunOptions& options);

// The summary.json of a finished run directory.
nlohmann::json read_summary(const std::string& dir);

// One point of a sweep or suite, run into `dir` (with its analysis when the spec asks). With
// --resume, a point that finished is not run again (its summary is read back), one that was
// interrupted continues from its checkpoint, and one stopped before its first checkpoint starts
// afresh. Returns the summary; throws Interrupted on a stop request.
nlohmann::json run_point(const ExperimentSpec& spec, const RunOptions& options, const std::string& dir);

// One point of a sweep that ran: its overrides and its summary.
struct SweepResult {
  std::vector<std::string> point;
  nlohmann::json summary;
};

// What a sweep ranks by, lower is better: valid_error when fine-tuned, else the best validation
// reconstruction, else the final training reconstruction.
double sweep_score(const nlohmann::json& summary);

// Sorts `results` by sweep_score (ties keep their order), writes dir/sweep.csv and dir/sweep.md
// under the heading `title`, tells `observers` the Markdown and returns the ranked table.
nlohmann::json rank_sweep(std::vector<SweepResult>& results, const std::string& title, const std::string& dir,
                          const Observers& observers = {});

// The subdirectory name of a sweep point: "contractive.weight=0.1,corruption.level=0.2" made
// safe for a file system.
std::string sweep_point_name(const std::vector<std::string>& point);

// `name` with every character but letters, digits and . = , - _ replaced by '_'.
std::string safe_file_name(std::string name);

}  // namespace carve
