// Sizes that do not fit: every shape, stride, element and byte count is checked, and an error names
// the op and the shape instead of wrapping around (issue #20).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "core/allocator.h"
#include "xgrad/xgrad.h"

using namespace xg;

namespace {
constexpr int64_t k2e40 = int64_t{1} << 40;
constexpr int64_t k2e62 = int64_t{1} << 62;

/// Runs f, expects an xg::Error of type E whose message holds every one of `parts`.
template <class E, class F>
void expect_error(F&& f, std::initializer_list<const char*> parts) {
  try {
    f();
    ADD_FAILURE() << "no error thrown";
  } catch (const E& e) {
    const std::string msg = e.what();
    for (const char* p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}
}  // namespace

TEST(Sizes, ElementCountOverflowIsAnError) {
  // 2^80 elements wrapped to 0, and at({5, 5}) then read far outside any allocation.
  expect_error<ShapeError>([] { zeros({k2e40, k2e40}); }, {"zeros", "[1099511627776, 1099511627776]"});
  // 3 * 2^62 wrapped to a negative count.
  expect_error<ShapeError>([] { ones({3, k2e62}); }, {"ones", "[3, 4611686018427387904]"});
  expect_error<ShapeError>([] { empty({k2e40, k2e40}, kInt64); }, {"empty"});
  expect_error<ShapeError>([] { full({k2e40, k2e40}, 1.0); }, {"full"});
  expect_error<ShapeError>([] { rand({k2e40, k2e40}); }, {"rand"});
  // No elements, but the strides of the contiguous layout (2^124) would not fit either.
  expect_error<ShapeError>(
      [] {
        empty({0, k2e62, k2e62});
      },
      {"empty", "[0, 4611686018427387904, 4611686018427387904]"});
  expect_error<ShapeError>([] { eye(int64_t{1} << 32); }, {"[4294967296, 4294967296]"});
  // Shapes that fit are untouched, including empty ones.
  EXPECT_EQ(zeros({0, 5}).numel(), 0);
  EXPECT_EQ(zeros({k2e40, 0}).strides(), (Shape{1, 1}));
}

TEST(Sizes, BytesBeyondMemoryAreAnErrorNotAHang) {
  // (2^61 + 1) * 4 bytes rounded up to a power of two overflowed, and the allocator looped forever.
  expect_error<Error>([] { empty({(int64_t{1} << 61) + 1}); }, {"empty", "[2305843009213693953]", "float32"});
  expect_error<Error>([] { empty({int64_t{1} << 62}, kFloat64); }, {"[4611686018427387904]"});
  // The allocator itself refuses what it cannot round.
  EXPECT_THROW(core::cached_alloc((size_t{1} << 63) + 1), Error);
  EXPECT_THROW(core::cached_alloc(SIZE_MAX), Error);
}

TEST(Sizes, LinearTooLargeIsAnError) {
  // 2^32 x 2^32 weights wrapped to an empty tensor, silently.
  expect_error<ShapeError>([] { nn::Linear(int64_t{1} << 32, int64_t{1} << 32); }, {"[4294967296, 4294967296]"});
}

TEST(Sizes, ViewsAndReshapeCheckTheirShapes) {
  // 2^33 * 2^31 * 0 wrapped to 0 == numel, so the reshape was accepted with overflowing strides.
  expect_error<ShapeError>([] { reshape(zeros({0}), {int64_t{1} << 33, int64_t{1} << 31, 0}); }, {"reshape"});
  expect_error<ShapeError>([] { view(zeros({0}), {-1, k2e40, k2e40}); }, {"view"});
  expect_error<ShapeError>([] { zeros({1, 1}).expand({k2e40, k2e40}); }, {"expand", "[1099511627776, 1099511627776]"});
  // A step far beyond the size is one element; its stride is not multiplied out.
  Tensor x = arange(8, kInt64).reshape({2, 4});
  Tensor s = x.slice(0, 0, 2, k2e62);
  EXPECT_EQ(s.shape(), (Shape{1, 4}));
  EXPECT_EQ(s.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3}));
  // from_blob's extent: 1 + 2 * 2^62 does not fit.
  float buf[4] = {};
  expect_error<ShapeError>([&] { from_blob(buf, {3, 2}, kFloat32, {k2e62, 1}); }, {"from_blob"});
}

TEST(Sizes, ArangeBeyondInt64IsAnError) {
  // 1e30 elements: the conversion to int64 was undefined and gave an empty tensor.
  expect_error<ValueError>([] { arange(0.0, 1e30); }, {"arange"});
  expect_error<ValueError>([] { arange(0.0, 1.0, 1e-300); }, {"arange"});
  EXPECT_EQ(arange(0.0, 0.0).numel(), 0);
  EXPECT_EQ(arange(5.0, 0.0).numel(), 0);
}

TEST(Sizes, IndexSelectRefusesNegativeIndices) {
  // As PyTorch: index_select takes indices in [0, size); -1 used to pick the last row.
  Tensor x = arange(6, kInt64).reshape({3, 2});
  expect_error<IndexError>([&] { index_select(x, 0, tensor({-1.0}, {1}, kInt64)); }, {"index_select", "-1"});
  expect_error<IndexError>([&] { index_select(x, 0, tensor({3.0}, {1}, kInt64)); }, {"index_select"});
  EXPECT_EQ(index_select(x, 0, tensor({2.0, 0.0}, {2}, kInt64)).to_vector<int64_t>(),
            (std::vector<int64_t>{4, 5, 0, 1}));
}
