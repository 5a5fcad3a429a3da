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
// The run's data splits, as the run made them.
Splits load_run_splits(const ExperimentSpec& spec);

}  // namespace carve
