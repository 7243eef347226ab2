#pragma once
/// Memory-overlap rules for writes (PyTorch's): a destination whose elements share memory, or an
/// input that partly overlaps the destination, would make the result depend on loop order.
#include "xgrad/tensor.h"

namespace xg::ops {

enum class Overlap { none, full, partial, too_hard };

/// True when a and b's elements are each stored once, with no gaps (any dim order).
bool non_overlapping_and_dense(const Tensor& t);
/// Definitely overlapping: a dim of size > 1 with stride 0 (an expanded tensor).
bool has_internal_overlap(const Tensor& t);
/// How two tensors' memory relates: none, the same elements in the same layout (full), partly
/// (partial), or too irregular to tell cheaply.
Overlap overlap(const Tensor& a, const Tensor& b);
/// Refuses a write by `op` into a destination with internal overlap.
void check_no_internal_overlap(const Tensor& dst, const char* op);
/// `src` itself when writing dst while reading src is well defined; refuses partial overlap; a
/// private copy when the layouts are too irregular to tell (so the result never depends on order).
Tensor readable_while_writing(const Tensor& dst, const Tensor& src, const char* op);

}  // namespace xg::ops
