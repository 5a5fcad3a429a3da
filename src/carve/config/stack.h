/// The `stack:` block of an experiment file: a list of layers, each a mapping of key overrides
/// applied to the rest of the file (carve/orchestration/stack.h trains them greedily).
///
///   stack:
///     - {regularizers.contractive.weight: 0.1}
///     - {model.type: rbm, model.hidden: 500}
///
///   auto layers = carve::load_stack("experiments/cae-2.yaml");   // {{"regularizers...=0.1"}, ...}
#pragma once

#include <string>
#include <vector>

namespace carve {

/// Each layer's overrides (key=value); empty when the file has no stack. Layers may not set
/// `data.*` keys (a layer trains on the codes of the one below). ConfigError at FILE:LINE:COL.
std::vector<std::vector<std::string>> load_stack(const std::string& file);

/// The `stack:` block of `layers`, as YAML to append to a resolved configuration (a stack's
/// config.yaml), which load_stack reads back to the same layers. "" when there are none.
std::string stack_yaml(const std::vector<std::vector<std::string>>& layers);

}  // namespace carve
