#include "carve/nn/bernoulli.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <mutex>
#include <type_traits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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

// out[j] = u < p[j] for each of `count` elements, u the uniform draw of words[j].
template <typename T>
inline void compare(const uint32_t* words, const T* p, T* out, int64_t count) {
  for (int64_t j = 0; j < count; ++j) out[j] = uniform_of(words[j], T()) < p[j] ? T(1) : T(0);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CARVE_PHILOX_AVX2 1
// Eight blocks at once in AVX2 registers, one lane per block: the same rounds as philox10 (the
// high halves of the 32 x 32 -> 64-bit products from _mm256_mul_epu32 on even and odd lanes,
// the low halves from _mm256_mullo_epi32).
__attribute__((target("avx2"), always_inline)) inline __m256i mulhi(__m256i a, __m256i m) {
  const __m256i even = _mm256_srli_epi64(_mm256_mul_epu32(a, m), 32);  // lanes 0, 2, ...: high half moved down
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);   // lanes 1, 3, ...: high half in place
  return _mm256_blend_epi32(even, odd, 0xAA);
}

// The words of blocks first .. first + 7 in element order (word j of block b is element 4 b + j):
// e[0] holds elements 0-7 (blocks 0 and 1), e[1] 8-15, e[2] 16-23, e[3] 24-31.
__attribute__((target("avx2"), always_inline)) inline void philox8(uint64_t first, uint64_t key, __m256i e[4]) {
  alignas(32) uint32_t lo[8], hi[8];
  for (int l = 0; l < 8; ++l) {
    const uint64_t block = first + static_cast<uint64_t>(l);
    lo[l] = static_cast<uint32_t>(block), hi[l] = static_cast<uint32_t>(block >> 32);
  }
  __m256i c0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(lo));
  __m256i c1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(hi));
  __m256i c2 = _mm256_setzero_si256(), c3 = _mm256_setzero_si256();
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(kMultiplier0)), m1 = _mm256_set1_epi32(static_cast<int>(kMultiplier1));
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int r = 0; r < 10; ++r) {
    if (r > 0) k0 += kWeyl0, k1 += kWeyl1;
    const __m256i hi0 = mulhi(c0, m0), hi1 = mulhi(c2, m1);
    const __m256i lo0 = _mm256_mullo_epi32(c0, m0), lo1 = _mm256_mullo_epi32(c2, m1);
    c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32(static_cast<int>(k0)));
    c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32(static_cast<int>(k1)));
    c1 = lo1, c3 = lo0;
  }
  // Lanes (blocks) to element order: a 4 x 8 transpose.
  const __m256i t0 = _mm256_unpacklo_epi32(c0, c1), t1 = _mm256_unpacklo_epi32(c2, c3);
  const __m256i t2 = _mm256_unpackhi_epi32(c0, c1), t3 = _mm256_unpackhi_epi32(c2, c3);
  const __m256i u0 = _mm256_unpacklo_epi64(t0, t1), u1 = _mm256_unpackhi_epi64(t0, t1);  // blocks 0|4, 1|5
  const __m256i u2 = _mm256_unpacklo_epi64(t2, t3), u3 = _mm256_unpackhi_epi64(t2, t3);  // blocks 2|6, 3|7
  e[0] = _mm256_permute2x128_si256(u0, u1, 0x20), e[1] = _mm256_permute2x128_si256(u2, u3, 0x20);
  e[2] = _mm256_permute2x128_si256(u0, u1, 0x31), e[3] = _mm256_permute2x128_si256(u2, u3, 0x31);
}

// The 32 words of blocks first .. first + 7 in element order, as philox_block gives them.
__attribute__((target("avx2"))) void philox8_words(uint64_t first, uint64_t key, uint32_t* words) {
  __m256i e[4];
  philox8(first, key, e);
  for (int k = 0; k < 4; ++k) _mm256_storeu_si256(reinterpret_cast<__m256i*>(words + 8 * k), e[k]);
}

// 32 float draws: u = (word >> 8) 2^-24 (exact), out = u < p ? 1 : 0, eight at a time.
__attribute__((target("avx2"))) void philox8_draw(uint64_t first, uint64_t key, const float* p, float* out) {
  __m256i e[4];
  philox8(first, key, e);
  const __m256 scale = _mm256_set1_ps(0x1p-24f), one = _mm256_set1_ps(1.0f);
  for (int k = 0; k < 4; ++k) {
    const __m256 u = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(e[k], 8)), scale);
    const __m256 below = _mm256_cmp_ps(u, _mm256_loadu_ps(p + 8 * k), _CMP_LT_OQ);
    _mm256_storeu_ps(out + 8 * k, _mm256_and_ps(below, one));
  }
}

bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#endif

template <typename T>
void draw(const T* p, T* out, int64_t n, uint64_t key) {
  const int64_t blocks = (n + 3) / 4;
  at::parallel_for(0, blocks, 2048, [&](int64_t begin, int64_t end) {
    uint32_t words[32];
    int64_t b = begin;
#ifdef CARVE_PHILOX_AVX2
    if (has_avx2()) {
      for (; b + 8 <= end; b += 8) {
        if constexpr (std::is_same_v<T, float>) {
          if (4 * b + 32 <= n) {
            philox8_draw(static_cast<uint64_t>(b), key, p + 4 * b, out + 4 * b);
            continue;
          }
        }
        philox8_words(static_cast<uint64_t>(b), key, words);
        compare(words, p + 4 * b, out + 4 * b, std::min<int64_t>(32, n - 4 * b));
      }
    }
#endif
    for (; b < end; ++b) {
      philox_block(static_cast<uint64_t>(b), key, words);
      compare(words, p + 4 * b, out + 4 * b, std::min<int64_t>(4, n - 4 * b));
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
