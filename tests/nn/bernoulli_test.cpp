// The RBM's Bernoulli sampler: Philox4x32-10 against Random123's published answers, the right
// distribution (means per probability, a varying p, independence within and across Philox
// blocks and between calls), and reproducibility (seed, thread count, in place, generator use).
#include "carve/nn/bernoulli.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>

namespace carve {
namespace {

TEST(Bernoulli, PhiloxGivesRandom123sKnownAnswers) {
  using Block = std::array<uint32_t, 4>;
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}), (Block{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
            (Block{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
            (Block{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(Bernoulli, EachProbabilityGivesItsMean) {
  const int64_t n = 400000;
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    for (double p : {0.0, 1e-3, 0.2, 0.5, 0.97, 1.0}) {
      torch::manual_seed(3);
      const auto s = sample_bernoulli(torch::full({400, n / 400}, p, dtype));
      EXPECT_EQ(s.scalar_type(), dtype);
      EXPECT_TRUE(((s == 0) | (s == 1)).all().item<bool>());
      const double mean = s.to(torch::kDouble).mean().item<double>();
      const double sd = std::sqrt(p * (1 - p) / n);
      if (p == 0 || p == 1) {
        EXPECT_EQ(mean, p);
      } else {
        EXPECT_LE(std::abs(mean - p), 5 * sd) << "p " << p << " dtype " << dtype;
      }
    }
  }
}

TEST(Bernoulli, AVaryingProbabilityIsFollowedElementByElement) {
  // p from 0 to 1 along the tensor: the draws' sum in each tenth of the range matches its sum of p.
  const int64_t n = 500000;
  torch::manual_seed(4);
  const auto p = torch::linspace(0, 1, n, torch::kDouble);
  const auto s = sample_bernoulli(p);
  for (int64_t part = 0; part < 10; ++part) {
    const auto ps = p.slice(0, part * n / 10, (part + 1) * n / 10), ss = s.slice(0, part * n / 10, (part + 1) * n / 10);
    const double expected = ps.sum().item<double>(), sd = std::sqrt((ps * (1 - ps)).sum().item<double>());
    EXPECT_LE(std::abs(ss.sum().item<double>() - expected), 5 * sd + 1e-9) << "tenth " << part;
  }
  // Out of range acts as clamped.
  const auto edge = sample_bernoulli(torch::tensor({-0.5, 1.5, -1e-9, 1 + 1e-9}, torch::kDouble));
  EXPECT_TRUE(torch::equal(edge, torch::tensor({0.0, 1.0, 0.0, 1.0}, torch::kDouble)));
}

// Chi-square over the 16 patterns of four consecutive draws at p = 1/2, starting at offset 0 (the
// four words of one Philox block) and at offset 2 (across two blocks); 15 degrees of freedom, the
// bound 50 is passed by chance with probability 1 - 1e-5.
TEST(Bernoulli, DrawsAreIndependentWithinAndAcrossBlocks) {
  const int64_t groups = 100000;
  torch::manual_seed(5);
  const auto s = sample_bernoulli(torch::full({4 * groups + 4}, 0.5, torch::kFloat)).to(torch::kLong);
  for (int64_t offset : {0, 1, 2}) {
    const auto g = s.slice(0, offset, offset + 4 * groups).view({groups, 4});
    const auto pattern = g.select(1, 0) * 8 + g.select(1, 1) * 4 + g.select(1, 2) * 2 + g.select(1, 3);
    const auto counts = torch::bincount(pattern, {}, 16).to(torch::kDouble);
    const double expected = static_cast<double>(groups) / 16;
    const double chi2 = ((counts - expected).pow(2) / expected).sum().item<double>();
    EXPECT_LT(chi2, 50) << "offset " << offset;
  }
  // Two calls draw under two keys: the same element agrees half the time, no more.
  const auto again = sample_bernoulli(torch::full({4 * groups + 4}, 0.5, torch::kFloat)).to(torch::kLong);
  const double agree = (s == again).to(torch::kDouble).mean().item<double>();
  EXPECT_LE(std::abs(agree - 0.5), 5 * 0.5 / std::sqrt(4.0 * groups));
}

TEST(Bernoulli, ReproducibleBySeedWhateverTheThreadsAndInPlace) {
  const auto p = torch::rand({300, 777}, torch::kFloat);
  const int threads = at::get_num_threads();
  torch::manual_seed(9);
  const auto a = sample_bernoulli(p);
  at::set_num_threads(1);
  torch::manual_seed(9);
  const auto b = sample_bernoulli(p);
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(a, b));
  torch::manual_seed(9);
  auto c = p.clone();
  sample_bernoulli_(c);
  EXPECT_TRUE(torch::equal(a, c));
  EXPECT_FALSE(torch::equal(a, sample_bernoulli(p)));  // the generator moved on

  // Each call takes exactly one 64-bit number from torch's generator: the draws are those of that key.
  torch::manual_seed(9);
  const uint64_t key = at::check_generator<at::CPUGeneratorImpl>(at::detail::getDefaultCPUGenerator())->random64();
  auto d = torch::empty_like(p);
  sample_bernoulli_with_key(p, d, key);
  EXPECT_TRUE(torch::equal(a, d));
}

// The vectorized blocks, the tails and each thread's share give every element the draw of its
// own Philox word: u(word i % 4 of block i / 4) < p_i (24 bits for float, 32 for double).
TEST(Bernoulli, EveryElementIsTheDrawOfItsPhiloxWord) {
  const uint64_t key = 0x0123456789abcdefull;
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    for (const int64_t n : {1, 3, 63, 64, 65, 67, 1000, 8192 * 4 + 77}) {
      const auto p = torch::rand({n}, dtype);
      auto out = torch::empty_like(p);
      sample_bernoulli_with_key(p, out, key);
      const auto pd = p.to(torch::kDouble), od = out.to(torch::kDouble);
      int64_t wrong = 0;
      for (int64_t i = 0; i < n; ++i) {
        const uint64_t block = static_cast<uint64_t>(i / 4);
        const auto w = philox4x32_10({static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), 0, 0},
                                     {static_cast<uint32_t>(key), static_cast<uint32_t>(key >> 32)})[static_cast<size_t>(i % 4)];
        const double u = dtype == torch::kFloat ? static_cast<double>(w >> 8) * 0x1p-24 : static_cast<double>(w) * 0x1p-32;
        const double pi = pd[i].item<double>(), expected = (dtype == torch::kFloat ? static_cast<float>(u) < static_cast<float>(pi) : u < pi) ? 1 : 0;
        wrong += od[i].item<double>() != expected;
      }
      EXPECT_EQ(wrong, 0) << "n " << n << ", " << dtype;
    }
  }
}

TEST(Bernoulli, OtherLayoutsFallBackToTorch) {
  torch::manual_seed(10);
  const auto p = torch::full({200, 300}, 0.3, torch::kDouble).t();  // not contiguous
  const auto s = sample_bernoulli(p);
  EXPECT_EQ(s.sizes(), p.sizes());
  EXPECT_TRUE(((s == 0) | (s == 1)).all().item<bool>());
  EXPECT_LE(std::abs(s.mean().item<double>() - 0.3), 5 * std::sqrt(0.3 * 0.7 / 60000));
  auto out = torch::empty({3}, torch::kDouble);
  EXPECT_THROW(sample_bernoulli_with_key(torch::rand({4}, torch::kDouble), out, 1), c10::Error);
}

}  // namespace
}  // namespace carve
