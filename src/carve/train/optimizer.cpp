#include "carve/train/optimizer.h"

#include <cmath>

namespace carve {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerSpec& o,
                                                        const std::vector<torch::Tensor>& params) {
  if (o.type == OptimizerType::adam) {
    return std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(o.lr).betas({o.beta1, o.beta2}).eps(o.eps));
  }
  return std::make_unique<torch::optim::SGD>(
      params, torch::optim::SGDOptions(o.lr).momentum(o.momentum).nesterov(o.nesterov));
}

double scheduled_lr(double lr, const ScheduleSpec& c, int64_t epoch, int64_t epochs) {
  if (c.type == ScheduleType::step) return lr * std::pow(c.gamma, static_cast<double>(epoch / c.step_epochs));
  if (c.type == ScheduleType::exponential) return lr * std::pow(c.gamma, static_cast<double>(epoch));
  if (c.type == ScheduleType::cosine) {
    const double t = static_cast<double>(epoch) / static_cast<double>(std::max<int64_t>(1, epochs - 1));
    return c.min_lr + (lr - c.min_lr) * 0.5 * (1 + std::cos(M_PI * t));
  }
  return lr;
}

double scheduled_lr(const ExperimentSpec& s, int64_t epoch) {
  return scheduled_lr(s.optimizer.lr, s.schedule, epoch, s.training.epochs);
}

}  // namespace carve
