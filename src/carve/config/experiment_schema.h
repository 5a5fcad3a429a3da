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

/// `data.dataset` with its relative paths resolved: beside the experiment `file` first (as a
/// suite's `runs[].file`), else in the working directory (as carve 0.1 read them). A name is
/// returned as is. ConfigError at `where` (FILE:LINE:COL) naming every path tried.
std::string resolve_data_paths(const std::string& dataset, const std::string& file, const std::string& where);

}  // namespace carve::config
