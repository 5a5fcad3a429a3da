// Supervised fine-tuning of a pretrained encoder: an MLP whose hidden layers start from the
// encoder's (copies; the pretrained model is untouched) topped by a softmax layer (weights 0),
// trained with cross-entropy and early stopping on the validation error. Reported: the test
// error at the best validation epoch. In linear_probe mode the hidden layers are frozen
// (logistic regression on the features).
//
//   auto r = carve::finetune(model->encoder(), splits, spec.finetune, spec.seed, device, "runs/x/finetune.csv");
//   r.test_error;   // fraction, at the epoch of the lowest validation error
#pragma once

#include <torch/torch.h>

#include <string>

#include "carve/config/experiment.h"
#include "carve/data/splits.h"
#include "carve/nn/encoder.h"
#include "carve/train/observer.h"

namespace carve {

struct FinetuneResult {
  double train_error = 0, valid_error = 0, test_error = 0;
  int64_t best_epoch = 0, epochs_run = 0;
  int64_t classes = 0;
};

// Each epoch's line goes to `observers`; finetune.csv is written atomically at the end.
FinetuneResult finetune(Encoder& pretrained, const Splits& splits, const FinetuneSpec& spec, uint64_t seed,
                        const torch::Device& device, const std::string& csv_path, const Observers& observers = {});

}  // namespace carve
