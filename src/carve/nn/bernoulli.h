// Bernoulli draws for Gibbs sampling (the RBM's step: issue 17, point 2).
//
// On the CPU a draw is u < p with u from Philox4x32-10 (Salmon et al., SC 2011), a counter-based
// generator: element i of a call reads word i % 4 of the block at counter i / 4 under one 64-bit
// key, and the key is the one number each call draws from torch's default CPU generator. So a
// call costs one pass over p, spread over torch's threads; the draws do not depend on the thread
// count; and torch::manual_seed, checkpoints (which save that generator's state) and resume
// reproduce them exactly. On x86-64 CPUs with AVX2 (detected at run time) eight blocks are
// computed at once in vector registers: the same words, so the same draws on every CPU. On
// other devices, and for tensors that are not contiguous floating point, a draw is
// torch::rand_like(p) < p.
//
//   torch::manual_seed(1);
//   auto h = carve::sample_bernoulli(p);     // 0/1 in p's dtype, P(h_i = 1) = p_i
//   carve::sample_bernoulli_(p);             // the same draws, written over p
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>

namespace carve {

/// Philox4x32-10: the four words of the block at `counter` under `key` (Random123's reference).
std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

/// 0/1 samples with P(1) = p, in p's dtype and shape (p outside [0, 1] acts as clamped to it).
torch::Tensor sample_bernoulli(const torch::Tensor& p);
/// The same, written over p.
torch::Tensor& sample_bernoulli_(torch::Tensor& p);
/// The CPU draws under an explicit key (what the two above use with a key from torch's generator).
void sample_bernoulli_with_key(const torch::Tensor& p, torch::Tensor& out, uint64_t key);

}  // namespace carve
