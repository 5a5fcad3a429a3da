#include "carve/nn/bernoulli.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <mutex>

namespace carve {

namespace {

constexpr uint32_t kMultiplier0 = 0xD2511F53u, kMultiplier1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;

inline void philox_round(uint32_t c[4], const uint32_t k[2]) {
  const uint64_t p0 = static_cast<uint64_t>(kMultiplier0) * c[0];
  const uint64_t p1 = static_cast<uint64_t>(kMultiplier1) * c[2];
  const uint32_t next[4] = {static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ k[0], static_cast<uint32_t>(p1),
                            static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ k[1], static_cast<uint32_t>(p0)};
  c[0] = next[0], c[1] = next[1], c[2] = next[2], c[3] = next[3];
}

// Ten rounds over the counter c, in place; the key is bumped by the Weyl constants between rounds.
inline void philox10(uint32_t c[4], uint32_t k0, uint32_t k1) {
  uint32_t k[2] = {k0, k1};
  philox_round(c, k);
  for (int r = 1; r < 10; ++r) {
    k[0] += kWeyl0, k[1] += kWeyl1;
    philox_round(c, k);
  }
}

inline void philox_block(uint64_t block, uint64_t key, uint32_t out[4]) {
  out[0] = static_cast<uint32_t>(block), out[1] = static_cast<uint32_t>(block >> 32), out[2] = 0, out[3] = 0;
  philox10(out, static_cast<uint32_t>(key), static_cast<uint32_t>(key >> 32));
}

// u in [0, 1) from one word: 24 bits for float (every value exact), 32 for double.
inline float uniform_of(uint32_t w, float) { return static_cast<float>(w >> 8) * 0x1p-24f; }
inline double uniform_of(uint32_t w, double) { return static_cast<double>(w) * 0x1p-32; }

template <typename T>
void draw(const T* p, T* out, int64_t n, uint64_t key) {
  const int64_t blocks = (n + 3) / 4;
  at::parallel_for(0, blocks, 2048, [&](int64_t begin, int64_t end) {
    uint32_t w[4];
    for (int64_t b = begin; b < end; ++b) {
      philox_block(static_cast<uint64_t>(b), key, w);
      const int64_t first = 4 * b, count = std::min<int64_t>(4, n - first);
      for (int64_t j = 0; j < count; ++j) out[first + j] = uniform_of(w[j], T()) < p[first + j] ? T(1) : T(0);
    }
  });
}

bool drawn_here(const torch::Tensor& p) {
  return p.device().is_cpu() && p.is_contiguous() && (p.scalar_type() == torch::kFloat || p.scalar_type() == torch::kDouble);
}

uint64_t next_key() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(generator)->random64();
}

}  // namespace

std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key) {
  uint32_t c[4] = {counter[0], counter[1], counter[2], counter[3]};
  philox10(c, key[0], key[1]);
  return {c[0], c[1], c[2], c[3]};
}

void sample_bernoulli_with_key(const torch::Tensor& p, torch::Tensor& out, uint64_t key) {
  TORCH_CHECK(drawn_here(p) && drawn_here(out) && out.sizes() == p.sizes() && out.scalar_type() == p.scalar_type(),
              "sample_bernoulli_with_key: contiguous float or double CPU tensors of one shape and dtype");
  if (p.scalar_type() == torch::kFloat) {
    draw(p.data_ptr<float>(), out.data_ptr<float>(), p.numel(), key);
  } else {
    draw(p.data_ptr<double>(), out.data_ptr<double>(), p.numel(), key);
  }
}

torch::Tensor sample_bernoulli(const torch::Tensor& p) {
  if (!drawn_here(p)) return (torch::rand_like(p) < p).to(p.dtype());
  auto out = torch::empty_like(p);
  sample_bernoulli_with_key(p, out, next_key());
  return out;
}

torch::Tensor& sample_bernoulli_(torch::Tensor& p) {
  if (!drawn_here(p)) return p.copy_(torch::rand_like(p) < p);
  sample_bernoulli_with_key(p, p, next_key());
  return p;
}

}  // namespace carve
