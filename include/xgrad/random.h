#pragma once
/// Seedable random numbers: one global generator (xg::manual_seed) plus explicit generators.
#include <cstdint>
#include <mutex>

#include "xgrad/tensor.h"

namespace xg {

/// A counter-free 64-bit generator (splitmix-seeded xoshiro256**): fast, and identical on every
/// platform for a seed, so results are reproducible.
class Generator {
 public:
  explicit Generator(uint64_t seed = 5489);
  void manual_seed(uint64_t seed);
  /// xoshiro256**; inline because dropout masks and the random factories draw one per element.
  uint64_t next_u64() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  /// Uniform in [0, 1) with 53 random bits.
  double next_double() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  /// Standard normal (Box-Muller, caching the second value).
  double next_normal();
  uint64_t seed() const { return seed_; }
  /// The whole state as an int64 tensor of kStateSize (a format tag, the seed, the four words and
  /// the cached normal), to save beside a checkpoint; set_state() continues the stream exactly.
  Tensor state() const;
  /// Restores a state() (an xg::ValueError for anything that is not one).
  void set_state(const Tensor& state);
  static constexpr int64_t kStateSize = 8;

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
  uint64_t seed_;
  bool has_spare_ = false;
  double spare_ = 0;
};

/// The generator used when none is passed. Draw from it directly only while holding a
/// GeneratorLock: other threads may be drawing from it.
Generator& default_generator();
/// Seeds the global generator (under the lock).
void manual_seed(uint64_t seed);
/// The global generator's state, and its restoring (PyTorch's torch.get_rng_state/set_rng_state).
Tensor get_rng_state();
void set_rng_state(const Tensor& state);

/// Exclusive use of a generator, `gen`, or the global one when gen is null, for one run of
/// draws. Every draw xgrad makes from a generator it is given or from the global one (the random
/// factories, nn::init, dropout, manual_seed) holds one, so threads sharing a generator take turns
/// and each tensor's values are one unbroken run of the stream. A single process-wide mutex
/// serves every generator, which keeps Generator a plain copyable value; a thread that wants
/// draws nobody else touches can use a Generator of its own, as the DataLoader does per batch.
class GeneratorLock {
 public:
  explicit GeneratorLock(Generator* gen = nullptr);
  Generator& operator*() const { return *gen_; }
  Generator* operator->() const { return gen_; }

 private:
  std::unique_lock<std::mutex> lock_;
  Generator* gen_;
};

}  // namespace xg
