#include "carve/orchestration/stack.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>

#include "carve/config/stack.h"
#include "carve/config/yaml_reader.h"
#include "carve/data/file_bytes.h"
#include "carve/device.h"
#include "carve/error.h"
#include "carve/train/finetune.h"
#include "carve/train/run_dir.h"
#include "carve/orchestration/sweep.h"
#include "carve/version.h"

namespace carve {

namespace fs = std::filesystem;

namespace {

// Codes of `encoder` for every example of d, as [N, 1, 1, H] images with the same labels.
Dataset codes_of(Encoder& encoder, const Dataset& d, const torch::Device& device) {
  if (d.size() == 0) return d;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  const auto x = d.flat();
  for (int64_t i = 0; i < x.size(0); i += 1000) parts.push_back(encoder.code(x.slice(0, i, i + 1000).to(device)).cpu());
  const auto codes = torch::cat(parts);
  return {codes.view({codes.size(0), 1, 1, codes.size(1)}), d.labels};
}

}  // namespace

std::vector<ExperimentSpec> stack_layer_specs(const std::string& file, const std::vector<std::vector<std::string>>& layers,
                                              const std::vector<std::string>& overrides) {
  std::vector<ExperimentSpec> specs;
  for (size_t k = 0; k < layers.size(); ++k) {
    auto all = overrides;
    all.insert(all.end(), layers[k].begin(), layers[k].end());
    all.push_back("finetune.enabled=false");  // the stack fine-tunes as a whole
    all.push_back("analysis.enabled=false");
    try {
      specs.push_back(load_experiment(file, all));
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("{} (stack layer {})", e.what(), k + 1));
    }
  }
  return specs;
}

void check_finished_stack(const std::string& dir, const ExperimentSpec& base, const std::vector<ExperimentSpec>& layers,
                          const std::vector<std::vector<std::string>>& stack) {
  const auto config = fs::path(dir) / "config.yaml";
  if (fs::exists(config)) {  // absent in carve 0.1's
    check_resumable(dir, base, /*finished=*/true);
    const auto was = load_stack(config.string());
    if (!was.empty() && was != stack) {  // carve 0.2 wrote no stack block
      throw UsageError(fmt::format("{}: cannot resume: the file's stack block differs from the run's config.yaml; "
                                   "resume with the same file, or --force", dir));
    }
  }
  check_data_recorded(stack_layer_directory(dir, 1), base.data.dataset);  // the layer that reads the data
  for (size_t k = 0; k < layers.size(); ++k) {
    const fs::path layer_dir = stack_layer_directory(dir, static_cast<int64_t>(k + 1));
    if (fs::exists(layer_dir / "summary.json")) check_resumable(layer_dir.string(), layers[k], /*finished=*/true);
  }
}

RunResult run_stack(const std::string& file, const std::vector<std::vector<std::string>>& layers,
                    const std::vector<std::string>& overrides, const RunOptions& options) {
  const auto base = load_experiment(file, overrides);
  const auto specs = stack_layer_specs(file, layers, overrides);
  const auto device = resolve_device(options.device.empty() ? base.device : options.device);
  const auto raw = load_run_splits(base);
  const fs::path dir = prepare_group_directory(base, options);
  if (options.resume) check_finished_stack(dir.string(), base, specs, layers);  // before anything is written
  // The whole resolved file: the base configuration and its stack block.
  data::write_text_file((dir / "config.yaml").string(), to_yaml(base) + stack_yaml(layers));

  Splits current = raw;
  std::vector<std::shared_ptr<Pretrainable>> trained;
  nlohmann::json layer_info = nlohmann::json::array();
  for (size_t k = 0; k < specs.size(); ++k) {
    const auto layer_dir = stack_layer_directory(dir.string(), static_cast<int64_t>(k + 1));
    notify(options.observers, fmt::format("stack layer {}/{}: {}, {} inputs", k + 1, specs.size(),
                                          to_string(specs[k].model.type), current.train.flat().size(1)));
    RunOptions o = options;
    o.force = false;
    o.out = layer_dir;
    if (!(options.resume && fs::exists(fs::path(layer_dir) / "summary.json"))) {
      o.resume = options.resume && fs::exists(layer_dir);  // one stopped before its checkpoint starts afresh
      run_experiment(specs[k], o, &current);
    }
    const auto run = load_run(layer_dir);  // the layer at its best epoch
    run.model->module().to(device);
    trained.push_back(run.model);
    layer_info.push_back({{"directory", fs::path(layer_dir).filename().string()}, {"type", to_string(specs[k].model.type)}, {"hidden", specs[k].model.hidden}});
    if (k + 1 < specs.size()) {
      auto& encoder = run.model->encoder();
      current = {codes_of(encoder, current.train, device), codes_of(encoder, current.valid, device),
                 codes_of(encoder, current.test, device)};
    }
  }

  // The chain of the trained layers, decoded from the top layer down: what load_run reads back.
  const auto stack = make_stacked(std::move(trained));
  stack->save_encoder((dir / "encoder.pt").string());
  const auto& eval = raw.test.size() > 0 ? raw.test : raw.valid.size() > 0 ? raw.valid : raw.train;
  const auto eval_x = eval.flat().to(device);
  const auto measures = contraction_measures(stack->encoder(), eval_x);
  const auto [fro, sat] = contraction_metrics(measures, base.training.saturation_threshold);
  nlohmann::json s{{"name", base.name},
                   {"carve_version", version()},
                   {"command_line", options.command_line},
                   {"layers", layer_info},
                   {"jacobian_fro_mean", fro},
                   {"saturation", std::isfinite(sat) ? nlohmann::json(sat) : nlohmann::json()},
                   {"paper_units", paper_units(measures, stack->encoder().input_size())},
                   {"metrics_split", raw.test.size() > 0 ? "test" : raw.valid.size() > 0 ? "valid" : "train"}};
  if (base.finetune.enabled) {
    const auto f = finetune(stack->encoder(), raw, base.finetune, base.seed, device,
                            RunDirectory::open_group(dir.string(), RunDirectory::Mode::resume), options.observers);
    s["test_error"] = f.test_error;
    s["valid_error"] = f.valid_error;
    s["finetune"] = finetune_summary(base.finetune, f);
  }
  const auto text = s.dump(2) + "\n";
  data::write_text_file((dir / "summary.json").string(), text);
  return {dir.string(), s};
}

}  // namespace carve
