#pragma once
/// Seedable random numbers: one global generator (xg::manual_seed) plus explicit generators.
#include <cstdint>

namespace xg {

/// A counter-free 64-bit generator (splitmix-seeded xoshiro256**): fast, and identical on every
/// platform for a seed, so results are reproducible.
class Generator {
 public:
  explicit Generator(uint64_t seed = 5489);
  void manual_seed(uint64_t seed);
  uint64_t next_u64();
  /// Uniform in [0, 1) with 53 random bits.
  double next_double();
  /// Standard normal (Box-Muller, caching the second value).
  double next_normal();
  uint64_t seed() const { return seed_; }

 private:
  uint64_t s_[4];
  uint64_t seed_;
  bool has_spare_ = false;
  double spare_ = 0;
};

/// The generator used when none is passed.
Generator& default_generator();
/// Seeds the global generator.
void manual_seed(uint64_t seed);

}  // namespace xg
