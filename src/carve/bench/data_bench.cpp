// carve bench data: all 70,000 Fashion-MNIST images and labels loaded beside zcat of the files.
#include <fmt/format.h>

#include <cstdlib>
#include <stdexcept>

#include "carve/bench/benchmarks.h"
#include "carve/bench/measure.h"
#include "carve/data/catalog.h"
#include "carve/error.h"

namespace carve::bench {

nlohmann::json bench_data(const DataBenchConfig& c) {
  if (c.repeats <= 0) throw UsageError(fmt::format("--repeats must be positive, got {}", c.repeats));
  std::string files;
  for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                        "t10k-labels-idx1-ubyte.gz"}) {
    files += " '" + c.directory + "/" + f + "'";
  }
  const std::string zcat = "zcat" + files + " > /dev/null";
  // Interleaved, so that drift on a shared machine hits both alike.
  double zcat_ms = 1e300, load_ms = 1e300;
  for (int64_t r = 0; r < c.repeats; ++r) {
    zcat_ms = std::min(zcat_ms, median_ms([&] {
                         if (std::system(zcat.c_str()) != 0) throw std::runtime_error("zcat failed: " + zcat);
                       }, 1));
    load_ms = std::min(load_ms, median_ms([&] { load_dataset("fashion-mnist"); }, 1));
  }
  return {{"bench", "data"}, {"zcat_ms", zcat_ms}, {"carve_load_ms", load_ms}, {"ratio", load_ms / zcat_ms},
          {"examples", 70000}, {"repeats", c.repeats},
          {"goals", {goal("carve load / zcat", load_ms / zcat_ms, "<=", 2.0)}}};
}

}  // namespace carve::bench
