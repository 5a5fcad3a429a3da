/// What a run directory holds, read before anything touches it: `--resume` continues only the
/// experiment that made the directory, and `--force` replaces only a directory carve made.
///
///   if (auto there = carve::identify_run_tree("runs/suite-ref"))
///     std::cout << there->describe();   // "the suite 'table1' (plan.json)"
///   carve::check_run_target(plan, options);  // UsageError (exit 2) on any mismatch
///
/// A run tree is identified by what carve writes first into it: its plan.json (a sweep or suite
/// keeps it in its directory, a single run or stack that --task, --jobs or carve submit started
/// in the sibling RUN_DIR.carve/), else its config.yaml (a single run or a stack, which records
/// its stack block there).
#pragma once

#include <optional>
#include <string>

#include "carve/orchestration/plan.h"

namespace carve {

/// The shape of an experiment: "single run", "stack", "sweep" or "suite".
std::string plan_shape(const Plan& plan);

/// What a run directory holds.
struct RunTreeIdentity {
  std::string shape;   ///< "single run", "stack", "sweep" or "suite"
  std::string name;    ///< the experiment's `name`
  std::string source;  ///< the file it was read from (plan.json or config.yaml)
  std::string describe() const;  ///< "the sweep 'toy-sweep' (runs/x/plan.json)"
};

/// std::nullopt for an absent or empty directory; UsageError for a directory that holds files
/// but nothing carve writes first (not a carve run), naming what to do.
std::optional<RunTreeIdentity> identify_run_tree(const std::string& directory, const std::string& refusing);

/// Before a plan touches its directory: with --resume, the directory must hold the same
/// experiment (shape and name; the tasks and configuration are compared later, file by file);
/// with --force, it must be a carve run, and observers are told what is replaced. Every refusal
/// is one UsageError naming both sides, before anything is written.
void check_run_target(const Plan& plan, const RunOptions& options);

}  // namespace carve
