/// The table of every key of an experiment file (carve/config/schema.h), for the readers and
/// writers of carve/config/.
///
///   carve::config::MapReader r(root, "exp.yaml", "");
///   carve::ExperimentSpec spec;
///   carve::config::experiment_table().read(r, spec);
#pragma once

#include "carve/config/experiment.h"
#include "carve/config/schema.h"

namespace carve::config {

/// The top level of an experiment file and, nested, every section.
const Table<ExperimentSpec>& experiment_table();

}  // namespace carve::config
