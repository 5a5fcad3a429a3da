/// The optimizer of a spec's `optimizer:` block (pretraining) or `finetune.optimizer:` block, and
/// the learning-rate schedule: one factory for every caller.
///
///   auto opt = carve::make_optimizer(spec.optimizer, model.parameters());
///   for (auto& g : opt->param_groups()) g.options().set_lr(carve::scheduled_lr(spec, epoch));
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "carve/config/experiment.h"

namespace carve {

/// SGD (momentum, Nesterov) or Adam over `params`, at the spec's base learning rate.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerSpec& spec,
                                                        const std::vector<torch::Tensor>& params);

/// The learning rate of `epoch` (from 0) under the spec's schedule and base rate.
double scheduled_lr(const ExperimentSpec& spec, int64_t epoch);
/// The learning rate of `epoch` (from 0) of `epochs` under schedule `c` from base rate `lr`
/// (fine-tuning's: finetune.optimizer.lr, finetune.schedule, finetune.epochs).
double scheduled_lr(double lr, const ScheduleSpec& c, int64_t epoch, int64_t epochs);

}  // namespace carve
