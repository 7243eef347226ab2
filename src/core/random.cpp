#include "xgrad/random.h"

#include <cmath>

namespace xg {
namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

Generator::Generator(uint64_t seed) { manual_seed(seed); }

void Generator::manual_seed(uint64_t seed) {
  seed_ = seed;
  uint64_t x = seed;
  for (auto& s : s_) s = splitmix64(x);
  has_spare_ = false;
}

double Generator::next_normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1 = next_double();
  while (u1 <= 0.0) u1 = next_double();
  const double u2 = next_double();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double th = 2.0 * M_PI * u2;
  spare_ = r * std::sin(th);
  has_spare_ = true;
  return r * std::cos(th);
}

Generator& default_generator() {
  // One process-wide generator, as PyTorch's: a seed set anywhere governs every draw.
  static Generator g(5489);
  return g;
}

namespace {
std::mutex& generator_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

GeneratorLock::GeneratorLock(Generator* gen) : lock_(generator_mutex()), gen_(gen ? gen : &default_generator()) {}

void manual_seed(uint64_t seed) { GeneratorLock(nullptr)->manual_seed(seed); }

}  // namespace xg
