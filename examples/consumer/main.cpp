// Uses carve as a library: an auto-encoder, its contractive penalty three ways (they must agree),
// and a few CAE training steps in a loop of the program's own.
#include <carve/models/autoencoder.h>
#include <carve/penalty/contractive.h>
#include <carve/version.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>

int main() {
  torch::manual_seed(0);
  auto ae = carve::AutoEncoder(carve::AutoEncoderOptions(20, 8).activation(carve::Activation::sigmoid));
  const auto x = torch::rand({16, 20});

  const auto value = [&](carve::ContractiveOptions options) {
    return carve::ContractivePenalty(options)(*ae, x).value.item<double>();
  };
  const double analytic = value(carve::ContractiveOptions().method(carve::ContractiveMethod::analytic));
  const double exact = value(carve::ContractiveOptions().method(carve::ContractiveMethod::exact));
  const double stochastic =
      value(carve::ContractiveOptions().method(carve::ContractiveMethod::stochastic).projections(4000));
  std::printf("carve %s: contractive penalty analytic %.6f exact %.6f stochastic %.6f\n", carve::version(), analytic,
              exact, stochastic);
  bool ok = std::abs(analytic - exact) <= 1e-5 * analytic && std::abs(stochastic - analytic) <= 0.1 * analytic;

  torch::optim::SGD sgd(ae->parameters(), torch::optim::SGDOptions(0.1));
  const carve::ContractivePenalty penalty;  // analytic
  double first = 0, last = 0;
  for (int step = 0; step < 20; ++step) {
    sgd.zero_grad();
    const auto pass = penalty.make_pass(*ae, x);
    const auto loss = ae->reconstruction_loss(x, pass.code()) + 0.1 * penalty(*ae, pass).value;
    loss.backward();
    sgd.step();
    (step == 0 ? first : last) = loss.item<double>();
  }
  std::printf("CAE loss %.4f -> %.4f over 20 steps\n", first, last);
  ok = ok && last < first;
  std::puts(ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
