// Reading a finished (or checkpointed) run directory back: its configuration and its model at
// the best epoch.
//
//   carve::LoadedRun run = carve::load_run("runs/cae");
//   auto h = run.model->encoder().code(x);
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>

#include "carve/config/experiment.h"
#include "carve/data/splits.h"
#include "carve/train/pretrainable.h"

namespace carve {

/// A finished run read back: its directory, its resolved spec and its model.
struct LoadedRun {
  std::string directory;
  ExperimentSpec spec;                  ///< its config.yaml (a stack's: the base of its layers)
  std::shared_ptr<Pretrainable> model;  ///< at the best epoch
  int64_t stack_layers = 0;             ///< a stack's directory: its layers (layer-1, ...); 0 otherwise
};

// The directory of layer k (from 1) of the stack in `dir`: dir/layer-k.
std::string stack_layer_directory(const std::string& dir, int64_t k);
// Where the per-epoch metrics of the run in `dir` are: its metrics.csv, or, for a stack, each
// layer's in order (the last is the top layer's).
std::vector<std::string> metrics_files(const std::string& dir);

// A run directory (config.yaml and checkpoint.pt) or a stack's (config.yaml and layer-1/,
// layer-2/, ... each a run directory: the model is make_stacked of theirs). Throws UsageError
// naming the directory otherwise.
LoadedRun load_run(const std::string& directory);
// Refuses (UsageError, exit 2) to continue the run in `dir` under `spec` when a key differs from
// the run's config.yaml in a way its resume rule forbids (carve/config/schema.h), naming every
// such key with both values; values are compared, never YAML bytes, so run directories written
// by earlier versions resume. A key that may grow (training.epochs) may grow unless `finished`:
// a finished run read back must match exactly. Returns whether a key grew (the run continues for
// more epochs).
bool check_resumable(const std::string& dir, const ExperimentSpec& spec, bool finished);
// data.json: the data files a run read (`files`, from Splits::files), each with its size and
// SHA-256, so that a resume on other data is refused rather than mixed into the run.
nlohmann::json data_record(const std::string& dataset, const std::vector<std::string>& files);
// Refuses (UsageError, exit 2) to continue the run in `dir` when its data.json names other data
// than `now` (a file's SHA-256 differs, or another number of files), naming the file and both
// digests. A run without data.json (an older carve's) is held to check_data_recorded.
void check_same_data(const std::string& dir, const nlohmann::json& now);
// Refuses (UsageError, exit 2) to continue or read back a run in `dir` that an older carve made
// (a checkpoint or summary.json, no data.json) on a dataset whose name reads other data now
// (dataset_change_since_unrecorded: `mnist` was 10,000 digits), saying what changed.
void check_data_recorded(const std::string& dir, const std::string& dataset);
// The split options of a spec's `data` block and seed (what load_run_splits and carve check use).
SplitOptions split_options(const ExperimentSpec& spec);
// The run's data splits, as the run made them (standardized when data.standardize is set).
// `notice` hears what loading has to say (a benchmark generated the first time it is used).
Splits load_run_splits(const ExperimentSpec& spec, const std::function<void(const std::string&)>& notice = {});

}  // namespace carve
