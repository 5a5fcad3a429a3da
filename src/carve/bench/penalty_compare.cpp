#include "carve/bench/penalty_compare.h"

#include <fmt/format.h>

#include <chrono>

#include "carve/device.h"
#include "carve/error.h"
#include "carve/models/autoencoder.h"
#include "carve/models/stack.h"

namespace carve {

void CompareConfig::validate() const {
  const auto positive = [](const char* name, int64_t v) {
    if (v <= 0) throw UsageError(fmt::format("--{} must be a positive integer, got {}", name, v));
  };
  positive("inputs", inputs);
  positive("hidden", hidden);
  positive("layers", layers);
  positive("batch", batch);
  positive("projections", projections);
  if (repeats < 0) throw UsageError(fmt::format("--repeats must be >= 0, got {}", repeats));
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

}  // namespace

CompareReport compare_penalties(const CompareConfig& config) {
  config.validate();
  const auto device = resolve_device(config.device);
  torch::manual_seed(config.seed);

  std::shared_ptr<torch::nn::Module> module;
  Encoder* encoder = nullptr;
  if (config.layers == 1) {
    auto ae = std::make_shared<AutoEncoderImpl>(
        AutoEncoderOptions(config.inputs, config.hidden).activation(config.activation).tied(config.tied));
    encoder = ae.get();
    module = ae;
  } else {
    auto stack = std::make_shared<StackedEncoderImpl>(
        StackedEncoderOptions(config.inputs, std::vector<int64_t>(config.layers, config.hidden))
            .activation(config.activation)
            .tied(config.tied));
    encoder = stack.get();
    module = stack;
  }
  module->to(device, config.dtype);
  const auto x = torch::rand({config.batch, config.inputs},
                             torch::TensorOptions().dtype(config.dtype).device(device));
  const auto params = encoder->encoder_parameters();

  CompareReport report;
  report.config = config;
  report.device = device.str();
  report.resolved_mode =
      to_string(resolve_jacobian_mode(ExactJacobianOptions().mode(config.mode), encoder->affine_layers(),
                                      config.inputs, encoder->code_size()));

  struct Run {
    PenaltyValue value;
    std::vector<torch::Tensor> grads;
  };
  const auto run_once = [&](const ContractivePenalty& penalty) {
    Run run;
    run.value = penalty(*encoder, x);
    run.grads = torch::autograd::grad({run.value.value}, params, {}, false, false, true);
    for (size_t i = 0; i < run.grads.size(); ++i) {
      if (!run.grads[i].defined()) run.grads[i] = torch::zeros_like(params[i]);
    }
    return run;
  };

  const std::vector<ContractiveMethod> methods{ContractiveMethod::analytic,
                                               ContractiveMethod::exact,
                                               ContractiveMethod::stochastic};
  std::vector<Run> runs;
  std::vector<double> ms;
  for (auto method : methods) {
    ContractivePenalty penalty(ContractiveOptions()
                                   .method(method)
                                   .projections(config.projections)
                                   .projection(config.projection)
                                   .mode(config.mode));
    runs.push_back(run_once(penalty));  // also the warm-up
    synchronize(device);
    const auto start = std::chrono::steady_clock::now();
    for (int64_t r = 0; r < config.repeats; ++r) run_once(penalty);
    synchronize(device);
    ms.push_back(config.repeats > 0 ? 1e3 * seconds_since(start) / config.repeats
                                    : std::numeric_limits<double>::quiet_NaN());
  }

  const Run& exact = runs[1];
  const double exact_value = exact.value.value.item<double>();
  for (size_t m = 0; m < methods.size(); ++m) {
    MethodReport r;
    r.method = to_string(methods[m]);
    r.value = runs[m].value.value.item<double>();
    r.value_rel_err = std::abs(r.value - exact_value) / std::max(std::abs(exact_value), 1e-300);
    for (size_t i = 0; i < params.size(); ++i) {
      const double ref = exact.grads[i].norm().item<double>();
      const double diff = (runs[m].grads[i] - exact.grads[i]).norm().item<double>();
      r.grad_rel_err = std::max(r.grad_rel_err, ref > 0 ? diff / ref : diff);
    }
    r.ms = ms[m];
    r.standard_error = runs[m].value.standard_error;
    report.methods.push_back(r);
  }
  return report;
}

namespace {
nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }
}  // namespace

nlohmann::json to_json(const CompareReport& report) {
  const auto& c = report.config;
  nlohmann::json j;
  j["config"] = {{"activation", to_string(c.activation)},
                 {"inputs", c.inputs},
                 {"hidden", c.hidden},
                 {"layers", c.layers},
                 {"batch", c.batch},
                 {"tied", c.tied},
                 {"dtype", dtype_name(c.dtype)},
                 {"projections", c.projections},
                 {"projection", to_string(c.projection)},
                 {"mode", to_string(c.mode)},
                 {"resolved_mode", report.resolved_mode},
                 {"seed", c.seed},
                 {"device", report.device},
                 {"repeats", c.repeats},
                 {"threads", torch::get_num_threads()}};
  j["methods"] = nlohmann::json::object();
  for (const auto& m : report.methods) {
    nlohmann::json e{{"value", m.value},
                     {"value_rel_err", m.value_rel_err},
                     {"grad_rel_err", m.grad_rel_err},
                     {"ms", number_or_null(m.ms)}};
    if (m.method == "stochastic") e["stderr"] = number_or_null(m.standard_error);
    j["methods"][m.method] = e;
  }
  return j;
}

std::string to_table(const CompareReport& report) {
  const auto& c = report.config;
  std::string out = fmt::format(
      "contractive penalty ||J_f(x)||_F^2: {} encoder {} -> {} ({} layer{}, {}), batch {}, {}, {}, "
      "seed {}\nexact method: {} mode; stochastic: {} {} projection{}\n\n",
      to_string(c.activation), c.inputs, c.hidden, c.layers, c.layers == 1 ? "" : "s",
      c.tied ? "tied" : "untied", c.batch, dtype_name(c.dtype), report.device, c.seed,
      report.resolved_mode, c.projections, to_string(c.projection), c.projections == 1 ? "" : "s");
  out += fmt::format("{:<11} {:>16} {:>14} {:>14} {:>12} {:>12}\n", "method", "value",
                     "value rel.err", "grad rel.err", "ms fwd+bwd", "std.err");
  for (const auto& m : report.methods) {
    out += fmt::format("{:<11} {:>16.9e} {:>14.2e} {:>14.2e} {:>12.3f} {:>12}\n", m.method, m.value,
                       m.value_rel_err, m.grad_rel_err, m.ms,
                       std::isfinite(m.standard_error) ? fmt::format("{:.3e}", m.standard_error)
                                                       : std::string("-"));
  }
  out += "\nrelative errors are against the exact (autograd) method.\n";
  return out;
}

}  // namespace carve
