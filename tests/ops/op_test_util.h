#pragma once
/// Small helpers shared by the core and op unit tests: value checks, error-message checks, thread
/// guards and gradcheck shorthands.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "xgrad/xgrad.h"

namespace xg::testing {

/// A float64 tensor from values (the default for reference maths and gradient checks).
inline Tensor f64(const std::vector<double>& v, const Shape& shape) { return from_vector(v, shape); }
/// A float32 tensor from values.
inline Tensor f32(const std::vector<float>& v, const Shape& shape) { return from_vector(v, shape); }
inline Tensor i64(const std::vector<int64_t>& v, const Shape& shape) { return from_vector(v, shape); }

/// Checks shape and every element against expected values within atol + rtol·|expected|.
inline void expect_values(const Tensor& t, const Shape& shape, const std::vector<double>& expected, double atol = 1e-6,
                          double rtol = 1e-6) {
  ASSERT_TRUE(t.defined());
  ASSERT_EQ(t.shape(), shape) << "shape " << shape_str(t.shape()) << " vs expected " << shape_str(shape);
  const std::vector<double> got = t.to_vector<double>();
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "element " << i << ": got " << got[i] << ", expected nan";
      continue;
    }
    if (std::isinf(expected[i])) {
      EXPECT_EQ(got[i], expected[i]) << "element " << i;
      continue;
    }
    EXPECT_NEAR(got[i], expected[i], atol + rtol * std::abs(expected[i])) << "element " << i;
  }
}

/// Bitwise equality of two tensors' elements (same shape and dtype).
inline bool bitwise_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.raw_data(), cb.raw_data(), ca.nbytes()) == 0;
}

/// Runs f, expects exception E, and checks its message contains every given piece.
template <class E, class F>
void expect_error(F&& f, const std::vector<std::string>& pieces) {
  try {
    f();
    ADD_FAILURE() << "expected an exception";
  } catch (const E& e) {
    const std::string msg = e.what();
    for (const auto& p : pieces)
      EXPECT_NE(msg.find(p), std::string::npos) << "message '" << msg << "' lacks '" << p << "'";
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

/// Sets the thread count for a scope and restores the previous one.
class ThreadCountGuard {
 public:
  explicit ThreadCountGuard(int n) : prev_(get_num_threads()) { set_num_threads(n); }
  ~ThreadCountGuard() { set_num_threads(prev_); }
  ThreadCountGuard(const ThreadCountGuard&) = delete;
  ThreadCountGuard& operator=(const ThreadCountGuard&) = delete;

 private:
  int prev_;
};

/// A float64 leaf that requires grad, with values drawn from a fixed seed (uniform in [lo, hi]).
inline Tensor leaf(const Shape& shape, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Generator g(seed);
  Tensor t = uniform(shape, lo, hi, kFloat64, &g);
  t.requires_grad_();
  return t;
}
/// Values in [lo, hi] kept at least `gap` away from zero (for kinks at 0 and divisions).
inline Tensor leaf_away_from_zero(const Shape& shape, uint64_t seed, double gap = 0.2, double hi = 1.5) {
  Generator g(seed);
  Tensor u = uniform(shape, gap, hi, kFloat64, &g);
  Tensor s = randint(0, 2, shape, &g).to(kFloat64);
  Tensor t = (u * (s * 2.0 - 1.0)).detach();
  t.requires_grad_();
  return t;
}

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

/// gradcheck that reports the failure as a test failure instead of an exception.
inline void expect_gradcheck(const Fn& f, const std::vector<Tensor>& inputs, double atol = 1e-5, double rtol = 1e-3) {
  const auto r = autograd::gradcheck(f, inputs, 1e-6, atol, rtol, false);
  EXPECT_TRUE(r.ok) << r.worst << " (max abs error " << r.max_abs_error << ")";
}
inline void expect_gradgradcheck(const Fn& f, const std::vector<Tensor>& inputs, double atol = 1e-5,
                                 double rtol = 1e-3) {
  const auto r = autograd::gradgradcheck(f, inputs, 1e-6, atol, rtol, false);
  EXPECT_TRUE(r.ok) << r.worst << " (max abs error " << r.max_abs_error << ")";
}

}  // namespace xg::testing
