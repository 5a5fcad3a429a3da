// CUDA variants of the tests: each runs its computation on the GPU when LibTorch has one and
// otherwise skips visibly (GTEST_SKIP; ctest reports it as skipped through the
// SKIP_REGULAR_EXPRESSION in tests/CMakeLists.txt, so a run without a GPU says so).
//
//   TEST(ContractiveCuda, EveryMethodMatchesTheCpu) { CARVE_REQUIRE_CUDA(); ... }
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#define CARVE_REQUIRE_CUDA()                                                              \
  do {                                                                                     \
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device: this CUDA variant did not run"; \
  } while (0)
