#pragma once
/// Checked size arithmetic. Every shape, stride, element count and byte count is computed with
/// overflow checks: a wrapped product once made a tensor of 2^80 elements hold 0, and reading it
/// crashed. A shape is valid when no size is negative and its sizes, zeros counted as ones,
/// multiply to at most INT64_MAX, so that every contiguous stride, and every partial product a
/// view or a loop computes, fits in int64 as well.
#include <cstddef>
#include <cstdint>

#include "xgrad/dtype.h"
#include "xgrad/tensor.h"

namespace xg::core {

/// The most bytes one tensor may take: past any machine's memory, and far enough below 2^64 that
/// the allocator's rounding to size classes cannot overflow.
inline constexpr uint64_t kMaxTensorBytes = uint64_t{1} << 60;

/// a * b for non-negative sizes; false when the product does not fit in int64.
inline bool mul_size(int64_t a, int64_t b, int64_t& out) { return !__builtin_mul_overflow(a, b, &out); }
/// a + b; false when the sum does not fit in int64.
inline bool add_size(int64_t a, int64_t b, int64_t& out) { return !__builtin_add_overflow(a, b, &out); }

/// The element count of a valid shape (see above), or a ShapeError naming op and the shape.
int64_t checked_numel(const Shape& shape, const char* op);
/// numel times the element size, or an Error naming op, shape and dtype when it exceeds
/// kMaxTensorBytes. The shape must already be valid.
size_t checked_nbytes(const Shape& shape, DType dtype, const char* op);
/// checked_numel, contiguous strides and checked_nbytes of shape in one pass: numel and strides are
/// written, the byte count returned. For new tensors, where it runs once per op.
size_t checked_layout(const Shape& shape, DType dtype, const char* op, int64_t& numel, Shape& strides);

}  // namespace xg::core
