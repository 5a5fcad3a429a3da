// Suites: one experiment file that runs several configurations (the six pretraining methods of
// Rifai et al. 2011, Table 1), each over several seeds, and tabulates them.
//
//   suite:
//     seeds: [1, 2, 3]
//     runs:
//       - name: CAE
//         set: {regularizers.contractive.weight: 0.1}
//         paper: {test_error: 0.0114, jacobian: 0.73e-4, saturation: 0.8636}   # optional: published
//       - name: RBM-binary
//         set: {model.type: rbm}
//       - name: CAE-2
//         file: ../cae-2.yaml          # a run may be another file (relative to this one), e.g. a stack
//         set: {data.dataset: rectangles}
//       - name: DAE-g
//         set: {corruption.type: gaussian}
//         sweep: {corruption.level: [0.1, 0.2, 0.3, 0.5]}   # chosen on the validation split
//
// Each run x seed trains into RUN_DIR/<run name>/seed-<seed>/ (the rest of the file is the base
// configuration). A run with a sweep first trains every point of its grid with the first seed
// into RUN_DIR/<run name>/sweep/<point>/, ranks them (RUN_DIR/<run name>/sweep/sweep.md, by
// validation error as the paper chose its hyperparameters) and runs its seeds at the winning
// point; the first seed's run is the winning point itself, copied rather than trained again.
// RUN_DIR/table.md and table.csv list the runs sorted by mean test error, with mean ± standard
// deviation over seeds of the test error, validation error, mean Jacobian norm and saturation
// (SAT) of the pretrained encoder, the same two in the paper's units beside the published values
// (with the fit of every candidate unit to them; carve/metrics/paper_units.h), significance, and
// the chosen values of swept runs. Every run x seed, and
// every sweep point x seed, is validated before any trains.
#pragma once

#include <string>
#include <vector>

#include "carve/config/suite.h"
#include "carve/train/trainer.h"

namespace carve {

// One run x seed of a suite: its validated configuration and the overrides that made it.
struct SuitePoint {
  ExperimentSpec spec;
  std::vector<std::string> overrides;
};

// Validates every run x seed ([run][seed]); ConfigError names the failing run.
std::vector<std::vector<SuitePoint>> plan_suite(const std::string& file, const SuiteSpec& suite,
                                                const std::vector<std::string>& overrides);
// One row of a suite's table: the run, the summaries of its seeds, the sweep point it chose.
struct SuiteRow {
  const SuiteRun* run;
  std::vector<nlohmann::json> summaries;  ///< one per seed
  std::vector<std::string> chosen;
  std::vector<std::string> directories;  ///< the seeds' run directories, in the same order
};
// Writes dir/table.md and dir/table.csv, the rows sorted by mean test error, prints the
// Markdown to `observers` and returns the table. Where the seeds' runs fine-tuned, each row also
// gets the 95% (Wilson) interval of its test error pooled over the seeds' test predictions
// (test_predictions.csv), McNemar's exact p-value against the best row on the same examples
// (paired by seed and example), and the best row and every row whose interval overlaps the
// best's are marked in bold, as the paper's tables mark them.
nlohmann::json write_suite_table(const std::string& dir, const std::string& name, const std::vector<uint64_t>& seeds,
                                 const std::vector<SuiteRow>& rows, const Observers& observers = {});

}  // namespace carve
