#pragma once
/// Indexing and selection (src/ops/indexing.cpp), differentiable where PyTorch's are. Index tensors
/// are int64 and take no gradient; an index out of range is an IndexError naming the op, the index
/// and the size. Dims may be negative.
#include <optional>
#include <utility>

#include "xgrad/tensor.h"

namespace xg {

/// out[i][j] = input[index[i][j]][j] (dim 0): index has input's number of dims and is no larger than
/// input in the other dims; the result has index's shape.
Tensor gather(const Tensor& input, int64_t dim, const Tensor& index);
/// A copy of input with out[index[i][j]][j] = src[i][j] (dim 0). src has input's dtype and is at
/// least index's size in every dim. Where index repeats a position, the last write wins.
Tensor scatter(const Tensor& input, int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter(const Tensor& input, int64_t dim, const Tensor& index, Scalar value);
/// A copy of input with src added at the positions of index (repeats accumulate).
Tensor scatter_add(const Tensor& input, int64_t dim, const Tensor& index, const Tensor& src);
/// input where mask (bool, broadcast) is false, value where it is true; input's dtype.
Tensor masked_fill(const Tensor& input, const Tensor& mask, Scalar value);
/// gather with input and indices broadcast in all dims but dim; without dim, over the flattened input.
Tensor take_along_dim(const Tensor& input, const Tensor& indices, std::optional<int64_t> dim = std::nullopt);

/// The order of the elements reversed along each of dims (a copy).
Tensor flip(const Tensor& input, const Shape& dims);
/// Elements shifted along dims (cyclically); without dims, over the flattened input.
Tensor roll(const Tensor& input, const Shape& shifts, const Shape& dims = {});
/// The lower (tril) or upper (triu) triangle of the last two dims, the rest 0; diagonal shifts it.
Tensor tril(const Tensor& input, int64_t diagonal = 0);
Tensor triu(const Tensor& input, int64_t diagonal = 0);
/// int64 indices to int64 one-hot rows; num_classes -1: the largest index + 1.
Tensor one_hot(const Tensor& index, int64_t num_classes = -1);
/// Running sum and product along dim (float32 accumulates in float64, as PyTorch on CPU); int64 and
/// bool give int64.
Tensor cumsum(const Tensor& input, int64_t dim);
Tensor cumprod(const Tensor& input, int64_t dim);
/// input tiled repeats[i] times along dim i (repeats may have more dims than input: new leading dims).
Tensor repeat(const Tensor& input, const Shape& repeats);

/// input tiled dims[i] times along dim i; fewer dims than input repeat the last ones (as PyTorch).
Tensor tile(const Tensor& input, const Shape& dims);
/// 1-D input: a square matrix with it on the given diagonal; 2-D input: that diagonal as 1-D.
Tensor diag(const Tensor& input, int64_t diagonal = 0);
/// The elements of input where mask (bool, broadcast with input) is true, as 1-D.
Tensor masked_select(const Tensor& input, const Tensor& mask);
/// The positions of the non-zero elements, [count, input.dim()] int64 (NaN is non-zero).
Tensor nonzero(const Tensor& input);
/// input with alpha · source added at index (1-D int64) along dim; repeated indices accumulate.
Tensor index_add(const Tensor& input, int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha = 1);
/// input with the slices at index along dim replaced by source's (the last write wins on repeats).
Tensor index_copy(const Tensor& input, int64_t dim, const Tensor& index, const Tensor& source);
/// input with the slices at index along dim set to value (negative indices count from the end).
Tensor index_fill(const Tensor& input, int64_t dim, const Tensor& index, Scalar value);
/// Each element (or slice along dim) repeated repeats times; without dim, over the flattened input.
Tensor repeat_interleave(const Tensor& input, int64_t repeats, std::optional<int64_t> dim = std::nullopt);
Tensor repeat_interleave(const Tensor& input, const Tensor& repeats, std::optional<int64_t> dim = std::nullopt);

/// Sorted values and their positions in input, stably (equal values keep their order) and with NaN
/// the largest, as PyTorch's sort(stable=True).
std::pair<Tensor, Tensor> sort(const Tensor& input, int64_t dim = -1, bool descending = false);
Tensor argsort(const Tensor& input, int64_t dim = -1, bool descending = false);
/// The k largest (or smallest) values along dim and their positions, in sorted order; among equal
/// values the earlier position comes first (PyTorch leaves that order unspecified).
std::pair<Tensor, Tensor> topk(const Tensor& input, int64_t k, int64_t dim = -1, bool largest = true,
                               bool sorted = true);

}  // namespace xg
