/// Memory bounds of a run, checked before anything large is allocated (issue 14, point 5).
///
/// A size that cannot fit — millions of hidden units, a batch of billions, a million AIS chains —
/// would otherwise end in an allocation failure deep inside LibTorch or, with Linux's
/// overcommit, in the OOM killer hours into the run. `estimate_run_memory` adds up the large
/// allocations a run makes for certain (a lower bound: LibTorch's temporaries come on top), each
/// attributed to the key that sizes it; `check_run_fits` refuses the run in one line naming the
/// key that weighs most, the memory the run needs and the memory there is.
///
///   carve::check_run_fits(spec, /*inputs=*/784, /*train_examples=*/50000, torch::kCPU);
///   // throws carve::ResourceError:
///   // "exp.yaml: needs at least 29.2 GiB of memory, 21.3 GiB available (MemAvailable):
///   //  model.hidden = 10000000 sizes the weights, their gradients and the optimizer's state (29.2 GiB)"
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "carve/config/experiment.h"
#include "carve/device.h"
#include "carve/error.h"

namespace carve {

/// A run that cannot fit in memory (exit status 2, like any other bad input).
class ResourceError : public UsageError {
 public:
  using UsageError::UsageError;
};

/// One large allocation of a run and the key that sizes it.
struct MemoryItem {
  std::string key;    ///< the key that sizes it, e.g. "model.hidden"
  std::string what;   ///< what it is, e.g. "the weights, their gradients and the optimizer's state"
  int64_t bytes = 0;
};

/// A run's large allocations; total() saturates at INT64_MAX.
struct MemoryEstimate {
  std::vector<MemoryItem> items;
  int64_t total() const;
  const MemoryItem& largest() const;
};

/// The large allocations of one run of `spec` on data with `inputs` values per example and
/// `train_examples` training examples (float32 training, float64 for AIS). Saturates at
/// INT64_MAX instead of overflowing.
MemoryEstimate estimate_run_memory(const ExperimentSpec& spec, int64_t inputs, int64_t train_examples);

/// Throws ResourceError when the estimate exceeds the available memory.
void check_run_fits(const ExperimentSpec& spec, int64_t inputs, int64_t train_examples,
                    const torch::Device& device);

/// "29.2 GiB", "512 MiB", "12 KiB", "100 B".
std::string format_bytes(int64_t bytes);

}  // namespace carve
