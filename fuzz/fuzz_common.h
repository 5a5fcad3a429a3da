// Shared by the libFuzzer harnesses (tools/fuzz.sh builds and runs them; docs/FUZZING.md).
//
// A finding is a sanitizer report, a crash, a hang, or an exception other than carve's own
// error types escaping a reader: carve::UsageError (ConfigError, DataError) is a reader saying
// "bad input" in one line, which is what it should do; anything else aborts here so that
// libFuzzer records the input.
#pragma once

#include <torch/torch.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

#include "carve/error.h"

namespace carve::fuzz {

// A scratch directory of this process (libFuzzer may run several workers).
inline const std::filesystem::path& scratch() {
  static const auto dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("carve_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

// Writes the input to scratch()/name and returns its path.
inline std::string write_input(const std::string& name, const uint8_t* data, size_t size) {
  const auto path = scratch() / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                 static_cast<std::streamsize>(size));
  return path.string();
}

// Runs a reader on the input: carve's errors are answers, anything else a finding.
template <class F>
void expect_carve_errors_only(F&& read) {
  try {
    read();
  } catch (const carve::UsageError&) {
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "finding: c10::Error escaped the reader: %s\n", e.what_without_backtrace());
    std::abort();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "finding: %s escaped the reader: %s\n", typeid(e).name(), e.what());
    std::abort();
  }
}

// LibTorch sets itself up lazily (thread pools, allocator caches): done once before fuzzing so
// that it is not taken for a leak or for input-dependent behaviour.
inline void warm_up() {
  torch::set_num_threads(1);
  auto t = torch::rand({8, 8});
  (void)t.matmul(t).sum().item<float>();
}

}  // namespace carve::fuzz
