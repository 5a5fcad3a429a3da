// Process-wide runtime settings for carve's executables.
//
// tune_allocator(): glibc serves allocations above its mmap threshold (128 KiB at start) with
// fresh mmap()s and unmaps them on free, so every weight-sized temporary of a training step
// (a 784 x 1000 float matrix is 3 MiB) costs page faults and zeroing, step after step. Raising the
// mmap threshold and the trim threshold keeps those blocks in the heap for reuse. Measured here:
// an AE step 7.5 -> 5.2 ms, the exact penalty 2.5 -> 1.6 s (docs/RESULTS.md).
//
//   int main() { carve::tune_allocator(); ... }
#pragma once

namespace carve {

// Returns false where the C library offers no such knobs (then nothing changes).
bool tune_allocator();

}  // namespace carve
