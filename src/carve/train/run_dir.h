// Reading a finished (or checkpointed) run directory back: its configuration and its model at
// the best epoch.
//
//   carve::LoadedRun run = carve::load_run("runs/cae");
//   auto h = run.model->encoder().code(x);
#pragma once

#include <string>

#include "carve/config/experiment.h"
#include "carve/data/splits.h"
#include "carve/train/pretrainable.h"

namespace carve {

struct LoadedRun {
  std::string directory;
  ExperimentSpec spec;
  std::shared_ptr<Pretrainable> model;
};

// Throws UsageError when the directory holds no config.yaml and checkpoint.pt.
LoadedRun load_run(const std::string& directory);
// Refuses (UsageError, exit 2) to continue the run in `dir` under `spec` when a key differs from
// the run's config.yaml in a way its resume rule forbids (carve/config/schema.h), naming every
// such key with both values; values are compared, never YAML bytes, so run directories written
// by earlier versions resume. A key that may grow (training.epochs) may grow unless `finished`:
// a finished run read back must match exactly.
void check_resumable(const std::string& dir, const ExperimentSpec& spec, bool finished);
// The run's data splits, as the run made them.
Splits load_run_splits(const ExperimentSpec& spec);

}  // namespace carve
