/// The `suite:` block of an experiment file: several configurations (the six pretraining methods
/// of Rifai et al. 2011, Table 1), each over several seeds, tabulated together. Its keys are
/// declared once in `suite_table()` (carve/config/schema.h), which reads them and prints their
/// docs; carve/orchestration/suite.h runs what it describes.
///
///   suite:
///     seeds: [1, 2, 3]
///     runs:
///       - name: CAE
///         set: {regularizers.contractive.weight: 0.1}
///       - name: CAE-2
///         file: ../cae-2.yaml          # another file (relative to this one), e.g. a stack
///       - name: DAE-g
///         set: {corruption.type: gaussian}
///         sweep: {corruption.level: [0.1, 0.3, 0.5]}   # chosen on the validation split
///
///   carve::SuiteSpec suite = carve::load_suite("experiments/paper/table1-mnist.yaml");
#pragma once

#include <map>
#include <string>
#include <vector>

#include "carve/config/experiment.h"
#include "carve/config/schema.h"

namespace carve {

/// A row's published values (`paper:`), shown beside ours; < 0: none.
struct PaperValues {
  double test_error = -1;  ///< fraction
  double jacobian = -1;    ///< the paper's "average ‖J_f(x)‖_F", in its own units
  double saturation = -1;  ///< SAT, fraction
};

/// One row of a suite.
struct SuiteRun {
  std::string name;
  std::string file;                    ///< another experiment file (a stack, say); "" = this one
  std::vector<std::string> overrides;  ///< key=value, from `set`
  PaperValues paper;                   ///< `paper:` (or the older `paper_test_error`)
  std::vector<SweepAxis> sweep;        ///< chosen on the validation split before the seeds run
  std::map<std::string, std::string> origins;  ///< a `set` key -> FILE:LINE:COL, for its errors
};

/// The whole block.
struct SuiteSpec {
  std::vector<uint64_t> seeds;
  std::vector<SuiteRun> runs;
};

/// The suite block of a file, or an empty spec (no runs) when it has none. ConfigError at
/// FILE:LINE:COL for anything malformed.
SuiteSpec load_suite(const std::string& file);

namespace config {
/// The key tables of `suite` and `suite.runs[]`, for the docs.
std::vector<DocTable> suite_docs();
}  // namespace config

}  // namespace carve
