#pragma once
/// Views and copies that change shape (src/ops/shape.cpp). Views share storage with their input;
/// gradients are the adjoint (scatter back, or sum over expanded dims).
#include <vector>

#include "xgrad/tensor.h"

namespace xg {

/// A view when the strides allow it, else a copy. One -1 is inferred.
Tensor reshape(const Tensor& x, const Shape& shape);
/// Always a view; errors when the strides cannot express it (call contiguous() first).
Tensor view(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor permute(const Tensor& x, const Shape& dims);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
/// Python slicing x[..., start:end:step, ...] along dim: negatives count from the end, clamped.
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
/// Removes dim by taking one index (negative allowed).
Tensor select(const Tensor& x, int64_t dim, int64_t index);
Tensor squeeze(const Tensor& x);
/// Drops dim if its size is 1, otherwise returns x unchanged (as PyTorch).
Tensor squeeze(const Tensor& x, int64_t dim);
Tensor unsqueeze(const Tensor& x, int64_t dim);
/// Broadcast view: -1 keeps a size; only size-1 dims grow; new leading dims may be added.
Tensor expand(const Tensor& x, const Shape& size);
Tensor broadcast_to(const Tensor& x, const Shape& size);
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
/// Splits into pieces of split_size along dim (the last may be smaller); views.
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
/// Splits into n equal pieces along dim; views.
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
/// Rows of x picked by int64 indices in [0, size) along dim (a copy); negative indices are refused,
/// as in PyTorch.
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
/// Tensor.unfold: every window of `size` elements along dimension, `step` apart, as a new last dim of
/// a view sharing x's storage ([..., n, ...] → [..., (n - size) / step + 1, ..., size]).
Tensor unfold(const Tensor& x, int64_t dimension, int64_t size, int64_t step);
/// Copy of x with contiguous layout; differentiable.
Tensor contiguous(const Tensor& x);

}  // namespace xg
