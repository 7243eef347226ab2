#include "xgrad/random.h"

#include <bit>
#include <cmath>

#include "xgrad/error.h"

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

namespace {
constexpr int64_t kStateTag = 0x78677200 + 1;  // "xgr" and the layout's version
}  // namespace

Tensor Generator::state() const {
  const std::vector<int64_t> v{kStateTag,
                               static_cast<int64_t>(seed_),
                               static_cast<int64_t>(s_[0]),
                               static_cast<int64_t>(s_[1]),
                               static_cast<int64_t>(s_[2]),
                               static_cast<int64_t>(s_[3]),
                               has_spare_ ? 1 : 0,
                               std::bit_cast<int64_t>(spare_)};
  return from_vector(v, {kStateSize});
}

void Generator::set_state(const Tensor& state) {
  if (!state.defined() || state.dtype() != kInt64 || state.shape() != Shape{kStateSize})
    fail<ValueError>("Generator::set_state: expected an int64 tensor of shape [{}] from Generator::state(), got {}",
                     kStateSize,
                     state.defined() ? fmt::format("{} {}", dtype_name(state.dtype()), shape_str(state.shape()))
                                     : std::string("an undefined tensor"));
  // Read through the stride: core has no copying ops (to_vector and contiguous live in ops).
  std::vector<int64_t> v(static_cast<size_t>(kStateSize));
  const int64_t* p = state.data<int64_t>();
  for (int64_t i = 0; i < kStateSize; ++i) v[static_cast<size_t>(i)] = p[i * state.strides()[0]];
  if (v[0] != kStateTag)
    fail<ValueError>("Generator::set_state: not a state from Generator::state() (format tag {:#x}, expected {:#x})",
                     v[0], kStateTag);
  if (v[2] == 0 && v[3] == 0 && v[4] == 0 && v[5] == 0)
    fail<ValueError>("Generator::set_state: an all-zero state would give only zeros");
  if (v[6] != 0 && v[6] != 1) fail<ValueError>("Generator::set_state: corrupt state (spare flag {})", v[6]);
  seed_ = static_cast<uint64_t>(v[1]);
  for (int k = 0; k < 4; ++k) s_[k] = static_cast<uint64_t>(v[static_cast<size_t>(2 + k)]);
  has_spare_ = v[6] == 1;
  spare_ = std::bit_cast<double>(v[7]);
}

Tensor get_rng_state() { return GeneratorLock(nullptr)->state(); }
void set_rng_state(const Tensor& state) { GeneratorLock(nullptr)->set_state(state); }

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
