// carve bench penalty: the contractive penalty's cost at the paper's size beside an AE training
// step and beside a Python peer, as ratios.
#include <fmt/format.h>
#include <torch/torch.h>

#include "carve/bench/benchmarks.h"
#include "carve/bench/measure.h"
#include "carve/device.h"
#include "carve/error.h"
#include "carve/penalty/contractive.h"
#include "carve/penalty/jacobian.h"
#include "carve/models/autoencoder.h"

namespace carve::bench {

namespace {

void check_positive(const PenaltyBenchConfig& a) {
  for (auto [name, v] : {std::pair{"inputs", a.inputs}, {"hidden", a.hidden}, {"batch", a.batch},
                         {"repeats", a.repeats}, {"exact-repeats", a.exact_repeats}}) {
    if (v <= 0) throw UsageError(fmt::format("--{} must be a positive integer, got {}", name, v));
  }
}

nlohmann::json ratios_of(const nlohmann::json& r) {
  const auto& c = r["carve"];
  const double ae = c["ae_step_ms"], an = c["ae_analytic_step_ms"], st = c["ae_stochastic1_step_ms"];
  const double exact = c["exact_ms"];
  nlohmann::json ratios{{"analytic_overhead", an / ae - 1}, {"stochastic1_over_ae", st / ae}, {"exact_over_ae", exact / ae}};
  if (r.contains("python")) {
    const auto& py = r["python"];
    ratios["ae_step_python_over_carve"] = py["ae_step_ms"].get<double>() / ae;
    ratios["ae_analytic_python_over_carve"] = py["ae_analytic_step_ms"].get<double>() / an;
    ratios["functorch_over_exact"] = py["exact_functorch_ms"].get<double>() / exact;
  }
  return ratios;
}

}  // namespace

nlohmann::json bench_penalty(const PenaltyBenchConfig& a) {
  check_positive(a);
  const auto device = resolve_device(a.device);
  torch::manual_seed(0);
  AutoEncoder ae(AutoEncoderOptions(a.inputs, a.hidden));
  ae->to(device);
  const auto x = torch::rand({a.batch, a.inputs}, torch::TensorOptions().device(device));
  torch::optim::SGD opt(ae->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  const double lambda = 0.1;
  const auto params = ae->parameters();
  const auto step_with = [&](const ContractivePenalty* penalty) {
    opt.zero_grad();
    const auto pass = penalty ? penalty->make_pass(*ae, x) : EncoderPass::of(*ae, x);
    auto loss = ae->reconstruction_loss(x, pass.code());
    if (penalty) loss = loss + lambda * (*penalty)(*ae, pass).value;
    // Only the parameters: the stochastic pass's input requires grad, but its gradient is unused.
    loss.backward({}, c10::nullopt, false, params);
    opt.step();
  };
  const ContractivePenalty analytic(ContractiveOptions().method(ContractiveMethod::analytic));
  const ContractivePenalty stochastic(ContractiveOptions().method(ContractiveMethod::stochastic).projections(1));
  const ContractivePenalty exact(ContractiveOptions().method(ContractiveMethod::exact));

  nlohmann::json r{{"bench", "penalty"}};
  r["config"] = {{"inputs", a.inputs}, {"hidden", a.hidden}, {"batch", a.batch}, {"dtype", "float32"}, {"device", device.str()},
                 {"activation", "sigmoid"}, {"tied", true}, {"threads", torch::get_num_threads()},
                 {"repeats", a.repeats}, {"exact_repeats", a.exact_repeats},
                 {"exact_mode", to_string(resolve_jacobian_mode(ExactJacobianOptions(), ae->affine_layers(),
                                                                a.inputs, a.hidden))}};
  // Interleave the cheap measurements twice so that drift on a shared machine hits all alike.
  double ae_ms = 1e300, an_ms = 1e300, st_ms = 1e300;
  for (int round = 0; round < 2; ++round) {
    ae_ms = std::min(ae_ms, median_ms([&] { step_with(nullptr); }, a.repeats, device));
    an_ms = std::min(an_ms, median_ms([&] { step_with(&analytic); }, a.repeats, device));
    st_ms = std::min(st_ms, median_ms([&] { step_with(&stochastic); }, a.repeats, device));
  }
  const auto encoder_params = ae->encoder_parameters();
  const auto exact_once = [&] { torch::autograd::grad({exact(*ae, x).value}, encoder_params); };
  // The host's peak memory: on CUDA the Jacobian's blocks live on the device, so it says nothing.
  const double peak_before = device.is_cuda() ? -1 : peak_mib(true);
  exact_once();
  const double exact_peak = device.is_cuda() ? -1 : peak_mib(false);
  const double exact_ms = median_ms(exact_once, a.exact_repeats, device);
  r["carve"] = {{"ae_step_ms", ae_ms}, {"ae_analytic_step_ms", an_ms}, {"ae_stochastic1_step_ms", st_ms},
                {"exact_ms", exact_ms}, {"exact_peak_mib", exact_peak}, {"peak_reset", peak_before >= 0}};
  if (!a.python.empty()) {
    r["python"] = run_peer(fmt::format(
        "'{}' '{}' --inputs {} --hidden {} --batch {} --repeats {} --exact-repeats {} --threads {} --device {}",
        a.python, a.peer, a.inputs, a.hidden, a.batch, a.repeats, a.exact_repeats, torch::get_num_threads(),
        device.str()));
  }
  r["ratios"] = ratios_of(r);
  const auto& q = r["ratios"];
  r["goals"] = {goal("analytic penalty overhead on an AE step", q["analytic_overhead"], "<=", 0.05),
                goal("AE+stochastic(k=1) step / AE step", q["stochastic1_over_ae"], "<=", 1.5)};
  if (!device.is_cuda()) r["goals"].push_back(goal("exact peak memory (MiB)", exact_peak < 0 ? 1e9 : exact_peak, "<=", 2048));
  if (q.contains("functorch_over_exact")) {
    // Issue 13: at least twice as fast as the fastest torch.func (functorch) way, vmap(jacrev) or vmap(jacfwd).
    r["goals"].push_back(goal("fastest torch.func way / carve exact", q["functorch_over_exact"], ">=", 2.0));
  }
  return r;
}

}  // namespace carve::bench
