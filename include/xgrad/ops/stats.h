#pragma once
/// Order statistics (src/ops/stats.cpp): median, mode, quantile. Values are taken from the input by
/// index (gather), so the gradient flows to the selected elements, as PyTorch's.
#include <optional>
#include <string>
#include <utility>

#include "xgrad/tensor.h"

namespace xg {

/// The lower median of all elements (0-d); NaN when any element is NaN, NaN for an empty input. The
/// gradient is shared evenly among the elements equal to the median (PyTorch's
/// evenly_distribute_backward).
Tensor median(const Tensor& x);
/// Lower median along dim and its int64 index. The index is that of the element at position (n-1)/2
/// of a stable sort (among equal values, the one PyTorch returns); with NaN in a row, NaN and the
/// index of its first NaN.
std::pair<Tensor, Tensor> median(const Tensor& x, int64_t dim, bool keepdim = false);
/// The most frequent value along dim (the smallest among equally frequent ones) and an index of it:
/// its last occurrence. PyTorch returns the same value; its index among repeats comes from an unstable
/// sort and is only sure to agree for rows of up to 16 elements. NaNs never equal each other here.
std::pair<Tensor, Tensor> mode(const Tensor& x, int64_t dim = -1, bool keepdim = false);
/// The q-th quantiles (q in [0, 1], a 0-d or 1-D tensor, or a number) along dim, or of the flattened
/// input without dim. A 1-D q puts its dim first in the result. interpolation: "linear", "lower",
/// "higher", "midpoint" or "nearest" (rounding half to even, as PyTorch). A row with NaN gives NaN.
Tensor quantile(const Tensor& x, const Tensor& q, std::optional<int64_t> dim = std::nullopt, bool keepdim = false,
                const std::string& interpolation = "linear");
Tensor quantile(const Tensor& x, double q, std::optional<int64_t> dim = std::nullopt, bool keepdim = false,
                const std::string& interpolation = "linear");

/// torch.nanmedian and torch.nanquantile: the same, ignoring NaN (NaN only where a row is all NaN;
/// nanmedian's index for such a row is 0, as PyTorch).
Tensor nanmedian(const Tensor& x);
std::pair<Tensor, Tensor> nanmedian(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor nanquantile(const Tensor& x, const Tensor& q, std::optional<int64_t> dim = std::nullopt, bool keepdim = false,
                   const std::string& interpolation = "linear");
Tensor nanquantile(const Tensor& x, double q, std::optional<int64_t> dim = std::nullopt, bool keepdim = false,
                   const std::string& interpolation = "linear");

}  // namespace xg
