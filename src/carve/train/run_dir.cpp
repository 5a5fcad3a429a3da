#include "carve/train/run_dir.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "carve/data/catalog.h"
#include "carve/data/file_bytes.h"
#include "carve/data/sha256.h"
#include "carve/error.h"
#include "carve/train/checkpoint.h"

namespace carve {

namespace fs = std::filesystem;

std::string stack_layer_directory(const std::string& dir, int64_t k) {
  return (fs::path(dir) / fmt::format("layer-{}", k)).string();
}

std::vector<std::string> metrics_files(const std::string& dir) {
  const auto own = fs::path(dir) / "metrics.csv";
  if (fs::exists(own)) return {own.string()};
  std::vector<std::string> files;
  for (int64_t k = 1; fs::exists(fs::path(stack_layer_directory(dir, k)) / "metrics.csv"); ++k) {
    files.push_back((fs::path(stack_layer_directory(dir, k)) / "metrics.csv").string());
  }
  if (files.empty()) files.push_back(own.string());  // for the reader's "no such file"
  return files;
}

namespace {

LoadedRun load_stack_run(const fs::path& dir) {
  const auto config = (dir / "config.yaml").string();
  LoadedRun run{dir.string(), parse_experiment(data::read_text_file(config), config), nullptr};
  std::vector<std::shared_ptr<Pretrainable>> layers;
  for (int64_t k = 1; fs::exists(fs::path(stack_layer_directory(dir.string(), k)) / "checkpoint.pt"); ++k) {
    layers.push_back(load_run(stack_layer_directory(dir.string(), k)).model);
  }
  run.stack_layers = static_cast<int64_t>(layers.size());
  run.model = make_stacked(std::move(layers));
  return run;
}

}  // namespace

LoadedRun load_run(const std::string& directory) {
  const fs::path dir(directory);
  if (fs::exists(dir / "config.yaml") && !fs::exists(dir / "checkpoint.pt") && fs::exists(dir / "layer-1" / "checkpoint.pt")) {
    return load_stack_run(dir);
  }
  if (!fs::exists(dir / "config.yaml") || !fs::exists(dir / "checkpoint.pt")) {
    throw UsageError(fmt::format("{}: not a run directory (no config.yaml and checkpoint.pt, nor a stack's layer-1/)",
                                 directory));
  }
  const auto config = (dir / "config.yaml").string();
  LoadedRun run{directory, parse_experiment(data::read_text_file(config), config), nullptr};
  auto [model, state] = load_checkpoint_model((dir / "checkpoint.pt").string(),
                                              [&](int64_t inputs) { return make_pretrainable(run.spec, inputs); });
  run.model = std::move(model);
  // The run's result is its best epoch: use the best weights when recorded.
  auto params = run.model->module().parameters();
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < state.best_params.size() && i < params.size(); ++i) params[i].copy_(state.best_params[i]);
  return run;
}

bool check_resumable(const std::string& dir, const ExperimentSpec& spec, bool finished) {
  const auto config = (fs::path(dir) / "config.yaml").string();
  if (!fs::exists(config)) {
    throw UsageError(fmt::format("{}: no config.yaml: not a run directory carve can resume; use --force", dir));
  }
  const auto was = parse_experiment(data::read_text_file(config), config);
  std::vector<std::string> keys;
  bool grew = false;
  for (const auto& d : resume_differences(was, spec)) {
    if (d.rule == config::Resume::may_grow && !finished) {
      grew = true;
      continue;
    }
    keys.push_back(fmt::format("{} ({} there, {} now)", d.key, d.was, d.now));
  }
  if (keys.empty()) return grew;
  throw UsageError(fmt::format("{}: cannot resume: the configuration differs from the run's config.yaml in {}; "
                               "resume with the same file and --set values, or --force",
                               dir, fmt::join(keys, ", ")));
}

nlohmann::json data_record(const std::string& dataset, const std::vector<std::string>& files) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& f : files) {
    list.push_back({{"file", fs::absolute(f).lexically_normal().string()},
                    {"bytes", static_cast<int64_t>(fs::file_size(f))},
                    {"sha256", data::file_sha256(f)}});
  }
  return {{"dataset", dataset}, {"files", list}};
}

void check_data_recorded(const std::string& dir, const std::string& dataset) {
  const fs::path d(dir);
  if (fs::exists(d / "data.json") || !(fs::exists(d / "checkpoint.pt") || fs::exists(d / "summary.json"))) return;
  const auto change = dataset_change_since_unrecorded(dataset);
  if (change.empty()) return;
  throw UsageError(fmt::format("{}: cannot resume: an older carve made this run and recorded no data.json, and {}; "
                               "run it again with --force (or elsewhere with --out)",
                               dir, change));
}

void check_same_data(const std::string& dir, const nlohmann::json& now) {
  const auto path = fs::path(dir) / "data.json";
  if (!fs::exists(path)) return check_data_recorded(dir, now.value("dataset", ""));
  const auto was = data::read_json_file(path.string(), "record", "use --force");
  const auto& a = was.value("files", nlohmann::json::array());
  const auto& b = now.value("files", nlohmann::json::array());
  const auto name = [](const nlohmann::json& f) { return fs::path(f.value("file", "")).filename().string(); };
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    if (i < a.size() && i < b.size() && a[i].value("sha256", "") == b[i].value("sha256", "")) continue;
    const auto what =
        i >= a.size() ? fmt::format("{} is read now, not then", name(b[i]))
        : i >= b.size() ? fmt::format("{} was read then, not now", name(a[i]))
                        : fmt::format("{}: sha256 {} there, {} now", name(b[i]), a[i].value("sha256", "").substr(0, 16),
                                      b[i].value("sha256", "").substr(0, 16));
    throw UsageError(fmt::format("{}: cannot resume: the data differ from those the run read ({}; data.json); resume "
                                 "with the same data, or --force",
                                 dir, what));
  }
}

SplitOptions split_options(const ExperimentSpec& spec) {
  SplitOptions so;
  so.train = spec.data.train;
  so.valid = spec.data.valid;
  so.test = spec.data.test;
  so.seed = spec.seed;
  so.shuffle = spec.data.shuffle;
  so.stratify = spec.data.stratify;
  return so;
}

namespace {

// Each file's size and modification time: what says that a data set loaded before is still what
// its files hold.
std::vector<std::pair<uintmax_t, fs::file_time_type>> file_signature(const std::vector<std::string>& files) {
  std::vector<std::pair<uintmax_t, fs::file_time_type>> out;
  for (const auto& f : files) {
    std::error_code ec;
    const auto size = fs::file_size(f, ec);
    const auto time = fs::last_write_time(f, ec);
    if (ec) return {};
    out.emplace_back(size, time);
  }
  return out;
}

// The data set of the last run this process loaded, for the next run on the same data: a suite or
// sweep runs many (table1-mnist.yaml: 104 on MNIST), and each would otherwise read and convert
// the same files again. Its tensors are shared, never written: splits are selections (new
// tensors), standardization makes new ones. Reused only while every file it was read from keeps
// its size and modification time.
DatasetSource cached_dataset(const std::string& dataset, const std::string& dir,
                             const std::function<void(const std::string&)>& notice) {
  struct Cached {
    std::string dataset, dir;
    DatasetSource source;
    std::vector<std::pair<uintmax_t, fs::file_time_type>> signature;
  };
  static std::mutex mutex;
  static Cached last;
  // Where a name or a relative path leads: the data directory and the working directory.
  const auto where = data_directory(dir) + "\n" + fs::current_path().string();
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (last.dataset == dataset && last.dir == where && !last.signature.empty() &&
        file_signature(last.source.files) == last.signature) {
      return last.source;
    }
  }
  auto source = load_dataset(dataset, dir, notice);
  std::lock_guard<std::mutex> lock(mutex);
  last = {dataset, where, source, file_signature(source.files)};
  return source;
}

}  // namespace

Splits load_run_splits(const ExperimentSpec& spec, const std::function<void(const std::string&)>& notice) {
  auto splits = make_splits(cached_dataset(spec.data.dataset, spec.data.dir, notice), split_options(spec));
  if (spec.data.standardize) standardize(splits);
  return splits;
}

}  // namespace carve
