// carve penalty compare: every contractive-penalty method on one random encoder and batch.
#include <fmt/format.h>
#include <torch/torch.h>

#include <iostream>

#include "carve/device.h"
#include "carve/error.h"
#include "carve/bench/penalty_compare.h"
#include "commands.h"

namespace carve::cli {

void add_penalty_commands(CLI::App& app, Action& action) {
  auto* penalty = app.add_subcommand("penalty", "contractive penalty tools");
  auto* compare = penalty->add_subcommand(
      "compare", "evaluate the analytic, exact and stochastic contractive penalties side by side");

  struct Args {
    std::string activation = "sigmoid", dtype = "float64", format = "table",
                projection = "gaussian", mode = "auto", device = "cpu";
    CompareConfig config;
  };
  auto args = std::make_shared<Args>();
  auto& c = args->config;
  compare->add_option("--activation", args->activation,
                      "encoder activation: sigmoid, tanh, softplus, relu, linear")
      ->capture_default_str();
  compare->add_option("--inputs", c.inputs, "input units")->capture_default_str();
  compare->add_option("--hidden", c.hidden, "hidden units per layer")->capture_default_str();
  compare->add_option("--layers", c.layers, "encoder layers (a stack when > 1)")
      ->capture_default_str();
  compare->add_option("--batch", c.batch, "examples per batch")->capture_default_str();
  compare->add_flag("--tied,!--untied", c.tied, "tie decoder weights to the encoder's (default)");
  compare->add_option("--dtype", args->dtype, "float32 or float64")->capture_default_str();
  compare->add_option("--projections", c.projections, "random projections of the stochastic method")
      ->capture_default_str();
  compare->add_option("--projection", args->projection, "gaussian or rademacher")
      ->capture_default_str();
  compare->add_option("--mode", args->mode, "exact method's autograd mode: auto, forward, reverse, factored")
      ->capture_default_str();
  compare->add_option("--seed", c.seed, "random seed")->capture_default_str();
  compare->add_option("--device", args->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  compare->add_option("--repeats", c.repeats, "timed repetitions per method")->capture_default_str();
  compare->add_option("--format", args->format, "table or json")->capture_default_str();

  compare->callback([&action, args] {
    action = [args] {
      auto& a = *args;
      a.config.activation = parse_activation(a.activation);
      a.config.dtype = parse_dtype(a.dtype);
      a.config.projection = parse_projection(a.projection);
      a.config.mode = parse_jacobian_mode(a.mode);
      a.config.device = a.device;
      if (a.format != "table" && a.format != "json") {
        throw UsageError(fmt::format("--format must be table or json, got '{}'", a.format));
      }
      a.config.validate();
      const auto report = compare_penalties(a.config);
      if (a.format == "json") {
        std::cout << to_json(report).dump(2) << "\n";
      } else {
        std::cout << to_table(report);
      }
      return 0;
    };
  });
}

}  // namespace carve::cli
