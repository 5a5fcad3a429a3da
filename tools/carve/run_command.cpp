// carve run | check | export: experiments from YAML files.
#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "carve/config/experiment.h"
#include "carve/error.h"
#include "carve/export/torchscript.h"
#include "carve/train/sweep.h"
#include "commands.h"
#include "models/autoencoder.h"

namespace carve::cli {

namespace {

int export_run(const std::string& run_dir, std::string out) {
  namespace fs = std::filesystem;
  const fs::path dir(run_dir);
  if (!fs::exists(dir / "config.yaml") || !fs::exists(dir / "checkpoint.pt")) {
    throw UsageError(fmt::format("{}: not a run directory (no config.yaml and checkpoint.pt)", run_dir));
  }
  std::ifstream in(dir / "config.yaml");
  std::stringstream text;
  text << in.rdbuf();
  const auto spec = parse_experiment(text.str(), (dir / "config.yaml").string());
  torch::serialize::InputArchive archive, model;
  archive.load_from((dir / "checkpoint.pt").string());
  archive.read("model", model);
  torch::Tensor weight;
  model.read("weight", weight);
  AutoEncoder ae(AutoEncoderOptions(weight.size(1), spec.model.hidden)
                     .activation(spec.model.activation)
                     .decoder_activation(spec.model.decoder_activation)
                     .tied(spec.model.tied)
                     .loss(spec.model.loss));
  ae->load(model);
  // The run's exported encoder is its best epoch: use the best weights when recorded.
  auto params = ae->parameters();
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) {
    torch::Tensor best;
    if (archive.try_read("best_" + std::to_string(i), best)) params[i].copy_(best);
  }
  if (out.empty()) out = (dir / "encoder.pt").string();
  save_encoder(*ae, spec.model.type, out);
  std::cout << "wrote " << out << "\n";
  return 0;
}

}  // namespace

void add_run_commands(CLI::App& app, Action& action, const std::string& command_line) {
  struct Args {
    std::string file, out, device;
    std::vector<std::string> set;
    bool resume = false, force = false;
  };
  auto a = std::make_shared<Args>();
  auto* run = app.add_subcommand("run", "run an experiment file into a run directory");
  run->add_option("file", a->file, "experiment YAML")->required();
  run->add_option("--set", a->set, "override a key: key.path=value (repeatable)");
  run->add_option("--out", a->out, "run directory (default: runs/<name>)");
  run->add_option("--device", a->device, "auto, cpu, cuda or cuda:N (default: the file's)");
  run->add_flag("--resume", a->resume, "continue from the run directory's last checkpoint");
  run->add_flag("--force", a->force, "overwrite an existing run directory");
  run->callback([&action, a, command_line] {
    action = [a, command_line] {
      if (a->resume && a->force) throw UsageError("--resume and --force exclude each other");
      RunOptions o;
      o.out = a->out;
      o.device = a->device;
      o.resume = a->resume;
      o.force = a->force;
      o.command_line = command_line;
      const auto r = run_file(a->file, a->set, o);
      std::cout << "run directory: " << r.directory << "\n";
      return 0;
    };
  });

  auto c = std::make_shared<Args>();
  auto* check = app.add_subcommand("check", "validate an experiment file and print the resolved configuration");
  check->add_option("file", c->file, "experiment YAML")->required();
  check->add_option("--set", c->set, "override a key: key.path=value (repeatable)");
  check->callback([&action, c] {
    action = [c] {
      const auto spec = load_experiment(c->file, c->set);
      std::cout << "# " << c->file << ": valid";
      const auto points = sweep_points(spec);
      if (!spec.sweep.empty()) std::cout << fmt::format(" ({} sweep points)", points.size());
      std::cout << "\n" << to_yaml(spec);
      return 0;
    };
  });

  auto e = std::make_shared<std::pair<std::string, std::string>>();
  auto* exp = app.add_subcommand("export", "write a run's encoder as TorchScript");
  exp->add_option("run_dir", e->first, "run directory")->required();
  exp->add_option("--out", e->second, "output file (default: RUN_DIR/encoder.pt)");
  exp->callback([&action, e] { action = [e] { return export_run(e->first, e->second); }; });
}

}  // namespace carve::cli
