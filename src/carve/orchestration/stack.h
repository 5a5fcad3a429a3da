// Greedy layer-wise pretraining (Hinton et al. 2006; Bengio et al. 2007): a `stack:` block lists
// the layers, each a mapping of key overrides applied to the rest of the file, so any mix of
// carve's models stacks (CAE-2, DAE-b-3, RBM-3 as a DBN-style stack):
//
//   stack:
//     - {model.type: autoencoder, model.hidden: 1000, regularizers.contractive.weight: 0.1}
//     - {model.type: rbm, model.hidden: 500}
//
// Layer k trains into RUN_DIR/layer-k/ on the codes p(h | x) of layer k-1 for every split (the
// first on the data); every layer is validated before any trains. The chain of trained layers
// is the stack's encoder: RUN_DIR/encoder.pt (TorchScript, with the layers' decoders from the
// top down as its decode method), RUN_DIR/config.yaml (the resolved file, stack block included),
// RUN_DIR/summary.json with the
// jacobian_fro_mean and saturation of the whole stack on the test split, and, with a finetune:
// block, an MLP over all layers (test_error, valid_error; finetune.csv, finetune.pt,
// classifier.pt). Layers may not set data.* keys. The directory reads back as a run
// (carve/train/run_dir.h: load_run), so `carve export`, `analyze` and `compare` take it.
#pragma once

#include <string>
#include <vector>

#include "carve/config/stack.h"
#include "carve/train/trainer.h"

namespace carve {

// The validated spec of each layer: the file with `overrides`, then the layer's own, fine-tuning
// and analysis off (the stack fine-tunes as a whole). ConfigError names the layer.
std::vector<ExperimentSpec> stack_layer_specs(const std::string& file, const std::vector<std::vector<std::string>>& layers,
                                              const std::vector<std::string>& overrides);
// On --resume, refuses (UsageError) a stack directory made by another configuration: its own
// config.yaml (the resolved file with its fine-tuning and its stack block) and each finished
// layer's, checked before anything runs.
void check_finished_stack(const std::string& dir, const ExperimentSpec& base, const std::vector<ExperimentSpec>& layers,
                          const std::vector<std::vector<std::string>>& stack);
RunResult run_stack(const std::string& file, const std::vector<std::vector<std::string>>& layers,
                    const std::vector<std::string>& overrides, const RunOptions& options);

}  // namespace carve
