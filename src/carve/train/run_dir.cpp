#include "carve/train/run_dir.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "carve/data/catalog.h"
#include "carve/data/file_bytes.h"
#include "carve/error.h"

namespace carve {

namespace fs = std::filesystem;

LoadedRun load_run(const std::string& directory) {
  const fs::path dir(directory);
  if (!fs::exists(dir / "config.yaml") || !fs::exists(dir / "checkpoint.pt")) {
    throw UsageError(fmt::format("{}: not a run directory (no config.yaml and checkpoint.pt)", directory));
  }
  const auto config = (dir / "config.yaml").string();
  LoadedRun run{directory, parse_experiment(data::read_text_file(config), config), nullptr};
  torch::serialize::InputArchive archive, model;
  archive.load_from((dir / "checkpoint.pt").string());
  archive.read("model", model);
  torch::Tensor weight;
  model.read("weight", weight);
  run.model = make_pretrainable(run.spec, weight.size(1));
  run.model->module().load(model);
  run.model->load_state(archive);
  // The run's result is its best epoch: use the best weights when recorded.
  auto params = run.model->module().parameters();
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) {
    torch::Tensor best;
    if (archive.try_read("best_" + std::to_string(i), best)) params[i].copy_(best);
  }
  return run;
}

void check_resumable(const std::string& dir, const ExperimentSpec& spec, bool finished) {
  const auto config = (fs::path(dir) / "config.yaml").string();
  if (!fs::exists(config)) {
    throw UsageError(fmt::format("{}: no config.yaml: not a run directory carve can resume; use --force", dir));
  }
  const auto was = parse_experiment(data::read_text_file(config), config);
  std::vector<std::string> keys;
  for (const auto& d : resume_differences(was, spec)) {
    if (d.rule == config::Resume::may_grow && !finished) continue;
    keys.push_back(fmt::format("{} ({} there, {} now)", d.key, d.was, d.now));
  }
  if (keys.empty()) return;
  throw UsageError(fmt::format("{}: cannot resume: the configuration differs from the run's config.yaml in {}; "
                               "resume with the same file and --set values, or --force",
                               dir, fmt::join(keys, ", ")));
}

Splits load_run_splits(const ExperimentSpec& spec) {
  SplitOptions so;
  so.train = spec.data.train;
  so.valid = spec.data.valid;
  so.test = spec.data.test;
  so.seed = spec.seed;
  so.shuffle = spec.data.shuffle;
  so.stratify = spec.data.stratify;
  return make_splits(load_dataset(spec.data.dataset, spec.data.dir), so);
}

}  // namespace carve
