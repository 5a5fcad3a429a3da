/// Supervised fine-tuning of a pretrained encoder: an MLP whose hidden layers start from the
/// encoder's (copies; the pretrained model is untouched) topped by a softmax layer (weights 0),
/// trained with cross-entropy and early stopping on the validation error. Reported: the test
/// error at the best validation epoch. In linear_probe mode the hidden layers are frozen
/// (logistic regression on the features).
///
///   auto r = carve::finetune(model->encoder(), splits, spec.finetune, spec.seed, device, dir);
///   r.test_error;   // fraction, at the epoch of the lowest validation error
///
/// Into the run directory `dir` it writes, each epoch, finetune.csv (one row per epoch) and
/// finetune.pt (its checkpoint: the network, the optimizer, the order's generator, early
/// stopping, the best weights; the container of carve/train/checkpoint.h), and at the end
/// classifier.pt: the network at its best validation epoch as TorchScript (forward(x) gives the
/// logits, predict(x) the classes; carve/export/torchscript.h). When dir holds a finetune.pt of
/// the same pretrained encoder, fine-tuning continues from it — from the middle of an epoch if it
/// was stopped there (carve/train/stop.h) — bit-identically; a finished one is read back, or
/// continued when `spec.epochs` has grown. A finetune.pt of another encoder (pretraining that ran
/// on for more epochs) is set aside and fine-tuning starts afresh.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>

#include "carve/config/experiment.h"
#include "carve/data/splits.h"
#include "carve/nn/encoder.h"
#include "carve/train/observer.h"
#include "carve/train/run_directory.h"

namespace carve {

/// What fine-tuning gave: errors at the best validation epoch, the epochs, the classes.
struct FinetuneResult {
  double train_error = 0, valid_error = 0, test_error = 0;  ///< at the best validation epoch
  int64_t best_epoch = 0, epochs_run = 0;
  int64_t classes = 0;
  std::string step;  ///< "fused" or "autograd": how its steps' gradients were computed (finetune.step)
};

/// summary.json's `finetune` block: {"mode", "best_epoch", "epochs_run", "train_error", "classes",
/// "step"}.
nlohmann::json finetune_summary(const FinetuneSpec& spec, const FinetuneResult& result);

/// Each epoch's line goes to `observers`. Throws Interrupted on a stop request, after writing
/// finetune.pt.
FinetuneResult finetune(Encoder& pretrained, const Splits& splits, const FinetuneSpec& spec, uint64_t seed,
                        const torch::Device& device, const RunDirectory& dir, const Observers& observers = {});

}  // namespace carve
