#pragma once
/// More elementwise maths (src/ops/maths.cpp): logarithms and exponentials of other bases, inverse
/// and hyperbolic trigonometry, the remaining activations of torch.nn.functional, lerp, prelu,
/// clamp with tensor bounds, and the number-first comparisons (`0.0 < x`).
///
/// Dtypes follow PyTorch: the floating functions turn integer and bool inputs into the default float
/// dtype; the activations that PyTorch runs on floating tensors only (mish, selu, celu, prelu, lerp)
/// refuse the others with a DTypeError.
#include <optional>

#include "xgrad/tensor.h"

namespace xg {

Tensor log1p(const Tensor& x);
Tensor expm1(const Tensor& x);
Tensor log2(const Tensor& x);
Tensor log10(const Tensor& x);
Tensor exp2(const Tensor& x);
Tensor asin(const Tensor& x);
Tensor acos(const Tensor& x);
Tensor atan(const Tensor& x);
Tensor sinh(const Tensor& x);
Tensor cosh(const Tensor& x);
/// atan2(input, other): the angle of (other, input), in (-pi, pi]; broadcasts, promotes.
Tensor atan2(const Tensor& input, const Tensor& other);

/// clamp(x, min_val, max_val); int64 stays int64 (the bounds truncated, as PyTorch).
Tensor hardtanh(const Tensor& x, double min_val = -1.0, double max_val = 1.0);
/// x · tanh(softplus(x)).
Tensor mish(const Tensor& x);
/// scale · (max(0, x) + min(0, alpha (e^x - 1))) with PyTorch's alpha and scale.
Tensor selu(const Tensor& x);
/// max(0, x) + min(0, alpha (e^(x/alpha) - 1)); alpha 0 is an error.
Tensor celu(const Tensor& x, double alpha = 1.0);
/// x / (1 + |x|).
Tensor softsign(const Tensor& x);
/// log(z / (1 - z)) with z = clamp(x, eps, 1 - eps) when eps is given.
Tensor logit(const Tensor& x, std::optional<double> eps = std::nullopt);
/// start + weight · (end - start), all broadcast; start, end (and a tensor weight) share one floating
/// dtype, as PyTorch requires.
Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight);
Tensor lerp(const Tensor& start, const Tensor& end, Scalar weight);
/// x where x > 0, else weight · x; weight is one value or one per channel (dim 1 of x), 0-d or 1-D.
Tensor prelu(const Tensor& x, const Tensor& weight);

/// clamp with tensor bounds, all broadcast together and computed in their result_type; an undefined
/// bound is not applied (not both). NaN in x or in a bound gives NaN; min > max gives max.
Tensor clamp(const Tensor& x, const Tensor& min, const Tensor& max);
/// clamp(x, min): the lower bound only, as PyTorch's clamp(x, 0.0).
Tensor clamp(const Tensor& x, Scalar min);
Tensor clamp(const Tensor& x, const Tensor& min);

/// Comparisons with the number first (`0.0 < x`): the same as the mirrored comparison.
Tensor operator==(Scalar a, const Tensor& b);
Tensor operator!=(Scalar a, const Tensor& b);
Tensor operator<(Scalar a, const Tensor& b);
Tensor operator>(Scalar a, const Tensor& b);
Tensor operator<=(Scalar a, const Tensor& b);
Tensor operator>=(Scalar a, const Tensor& b);

}  // namespace xg
