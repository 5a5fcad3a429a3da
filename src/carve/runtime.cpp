#include "carve/runtime.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace carve {

bool tune_allocator() {
#if defined(__GLIBC__)
  // 32 MiB is the largest mmap threshold glibc accepts on 64-bit systems; above it, tensors are
  // rare and large enough that mmap's cost is amortized.
  const bool mmap_ok = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1;
  const bool trim_ok = mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;
  return mmap_ok && trim_ok;
#else
  return false;
#endif
}

}  // namespace carve
