/// Functional forms that are not plain ops: dropout and weight penalties.
#include "xgrad/nn/functional.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "xgrad/ops/elementwise.h"
#include "xgrad/ops/reduction.h"

namespace xg::nn::functional {

namespace {
/// m[i] = 1/keep with probability keep, else 0. Compares the draw's 53 bits with keep·2^53 as
/// integers: the same outcome as next_double() < keep (scaling by 2^53 is exact), without the
/// conversion in the per-element loop.
/// Branch-free: the outcome is a coin flip the branch predictor misses on one element in p, so the
/// kept value is selected by masking its bits (0 bits is +0, as T(0)).
template <class T>
void fill_mask(T* m, int64_t n, double keep, Generator& gen) {
  using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  const Bits scale = std::bit_cast<Bits>(static_cast<T>(1.0 / keep));
  const auto below = static_cast<uint64_t>(std::ceil(std::ldexp(keep, 53)));
  for (int64_t i = 0; i < n; ++i) {
    const Bits kept = static_cast<Bits>(0) - static_cast<Bits>((gen.next_u64() >> 11) < below);
    m[i] = std::bit_cast<T>(static_cast<Bits>(scale & kept));
  }
}
}  // namespace

Tensor dropout(const Tensor& input, double p, bool training, Generator* gen) {
  if (!(p >= 0.0 && p <= 1.0)) fail<ValueError>("dropout: p must be in [0, 1], got {}", p);
  if (!input.defined()) fail<ValueError>("dropout: undefined input");
  if (!training || p == 0.0) return input;
  if (!is_floating(input.dtype()))
    fail<DTypeError>("dropout: needs a floating input, got {}", dtype_name(input.dtype()));
  if (p == 1.0) return input * zeros_like(input);
  // The mask already holds 0 or 1/(1-p), so the op is one multiply whose gradient is the mask.
  Tensor mask = empty(input.shape(), input.dtype());
  const GeneratorLock g(gen);  // as the random factories: threads may share the generator
  if (input.dtype() == kFloat32)
    fill_mask(mask.data<float>(), mask.numel(), 1.0 - p, *g);
  else
    fill_mask(mask.data<double>(), mask.numel(), 1.0 - p, *g);
  return input * mask;
}

namespace {
/// A mask of the given shape from the generator: 1/keep or 0, as dropout's.
Tensor draw_mask(const Shape& shape, DType dt, double keep, Generator* gen) {
  Tensor mask = empty(shape, dt);
  const GeneratorLock g(gen);
  if (dt == kFloat32)
    fill_mask(mask.data<float>(), mask.numel(), keep, *g);
  else
    fill_mask(mask.data<double>(), mask.numel(), keep, *g);
  return mask;
}

void check_dropout(const Tensor& input, double p, const char* op) {
  if (!(p >= 0.0 && p <= 1.0)) fail<ValueError>("{}: p must be in [0, 1], got {}", op, p);
  if (!input.defined()) fail<ValueError>("{}: undefined input", op);
}
}  // namespace

Tensor dropout2d(const Tensor& input, double p, bool training, Generator* gen) {
  check_dropout(input, p, "dropout2d");
  if (input.dim() != 3 && input.dim() != 4)
    fail<ShapeError>("dropout2d: expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got {}", shape_str(input.shape()));
  if (!training || p == 0.0) return input;
  if (!is_floating(input.dtype()))
    fail<DTypeError>("dropout2d: needs a floating input, got {}", dtype_name(input.dtype()));
  if (p == 1.0) return input * zeros_like(input);
  Shape s = input.shape();
  for (size_t d = s.size() - 2; d < s.size(); ++d) s[d] = 1;
  return input * draw_mask(s, input.dtype(), 1.0 - p, gen);
}

Tensor alpha_dropout(const Tensor& input, double p, bool training, Generator* gen) {
  check_dropout(input, p, "alpha_dropout");
  if (!training || p == 0.0) return input;
  if (!is_floating(input.dtype()))
    fail<DTypeError>("alpha_dropout: needs a floating input, got {}", dtype_name(input.dtype()));
  if (p == 1.0) return input * zeros_like(input);
  // PyTorch's constants: out = x·keep·a + (keep - 1)·α·a + α·a·p, keep ∈ {0, 1}.
  constexpr double kAlpha = 1.7580993408473766;
  const double a = 1.0 / std::sqrt((kAlpha * kAlpha * p + 1) * (1 - p));
  const Tensor keep = gt(draw_mask(input.shape(), input.dtype(), 1.0 - p, gen), 0.0).to(input.dtype());  // 0 or 1
  return input * (keep * a) + (keep - 1.0) * (kAlpha * a) + kAlpha * a * p;
}

namespace {
Tensor penalty(const std::vector<Tensor>& params, double factor, bool l1, const char* op) {
  Tensor total;
  for (const Tensor& p : params) {
    if (!p.defined()) fail<ValueError>("{}: undefined tensor in the parameter list", op);
    if (!is_floating(p.dtype())) fail<DTypeError>("{}: needs floating tensors, got {}", op, dtype_name(p.dtype()));
    Tensor term = sum(l1 ? abs(p) : square(p));
    total = total.defined() ? total + term : term;
  }
  if (!total.defined()) return scalar(0.0);
  return total * factor;
}
}  // namespace

Tensor l1_penalty(const std::vector<Tensor>& params, double factor) {
  return penalty(params, factor, true, "l1_penalty");
}
Tensor l2_penalty(const std::vector<Tensor>& params, double factor) {
  return penalty(params, factor, false, "l2_penalty");
}

}  // namespace xg::nn::functional
