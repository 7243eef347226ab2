/// Sampling: bernoulli, multinomial, and the in-place refills (normal_, uniform_, bernoulli_). Each
/// holds the generator for one unbroken run of draws (GeneratorLock), so a seed fixes every sample.
#include "xgrad/ops/random.h"

#include <cmath>

#include "core/dispatch.h"
#include "ops/helpers.h"
#include "xgrad/random.h"

namespace xg {

using ops::check_defined;

Tensor bernoulli(const Tensor& p, Generator* gen) {
  check_defined(p, "bernoulli", "input");
  if (!is_floating(p.dtype()))
    fail<DTypeError>("bernoulli: expected probabilities as a float tensor, got {}", dtype_name(p.dtype()));
  const Tensor pc = p.detach().contiguous();
  Tensor out = empty(p.shape(), p.dtype());
  core::dispatch_float(p.dtype(), "bernoulli", [&]<class T>() {
    const T* src = pc.data<T>();
    T* dst = out.data<T>();
    const int64_t n = pc.numel();
    for (int64_t i = 0; i < n; ++i)
      if (!(src[i] >= T(0) && src[i] <= T(1)))
        fail<ValueError>("bernoulli: probability {} at flat index {} is outside [0, 1]", static_cast<double>(src[i]),
                         i);
    GeneratorLock lock(gen);
    for (int64_t i = 0; i < n; ++i) dst[i] = lock->next_double() < static_cast<double>(src[i]) ? T(1) : T(0);
  });
  return out;
}

Tensor multinomial(const Tensor& probs, int64_t num_samples, bool replacement, Generator* gen) {
  constexpr const char* op = "multinomial";
  check_defined(probs, op, "input");
  if (!is_floating(probs.dtype()))
    fail<DTypeError>("multinomial: expected weights as a float tensor, got {}", dtype_name(probs.dtype()));
  if (probs.dim() != 1 && probs.dim() != 2)
    fail<ShapeError>("multinomial: expected weights of shape [C] or [N, C], got {}", shape_str(probs.shape()));
  if (num_samples <= 0) fail<ValueError>("multinomial: num_samples must be positive, got {}", num_samples);
  const int64_t rows = probs.dim() == 2 ? probs.shape()[0] : 1, C = probs.shape().back();
  if (C == 0)
    fail<ShapeError>("multinomial: no categories to draw from (weights of shape {})", shape_str(probs.shape()));
  const std::vector<double> w = probs.detach().to(kFloat64).contiguous().to_vector<double>();
  for (int64_t r = 0; r < rows; ++r) {
    int64_t nonzero = 0;
    double total = 0;
    for (int64_t c = 0; c < C; ++c) {
      const double v = w[static_cast<size_t>(r * C + c)];
      if (!(v >= 0) || std::isinf(v))
        fail<ValueError>("multinomial: weight {} of row {} (category {}) is negative, infinite or NaN", v, r, c);
      nonzero += v > 0;
      total += v;
    }
    if (!(total > 0)) fail<ValueError>("multinomial: row {} has no positive weight", r);
    if (!replacement && num_samples > nonzero)
      fail<ValueError>(
          "multinomial: cannot draw {} samples without replacement from row {}, which has {} categories of non-zero "
          "weight",
          num_samples, r, nonzero);
  }
  Tensor out = probs.dim() == 2 ? empty({rows, num_samples}, kInt64) : empty({num_samples}, kInt64);
  int64_t* o = out.data<int64_t>();
  GeneratorLock lock(gen);
  std::vector<double> row(static_cast<size_t>(C));
  for (int64_t r = 0; r < rows; ++r) {
    std::copy(w.begin() + r * C, w.begin() + (r + 1) * C, row.begin());
    double total = 0;
    for (double v : row) total += v;
    for (int64_t s = 0; s < num_samples; ++s) {
      // Inverse CDF by a linear walk: the last category with weight takes any rounding left over.
      const double u = lock->next_double() * total;
      double acc = 0;
      int64_t pick = -1;
      for (int64_t c = 0; c < C; ++c) {
        const double v = row[static_cast<size_t>(c)];
        if (v <= 0) continue;
        pick = c;
        acc += v;
        if (u < acc) break;
      }
      o[r * num_samples + s] = pick;
      if (!replacement) {  // drawn categories leave the row
        total -= row[static_cast<size_t>(pick)];
        row[static_cast<size_t>(pick)] = 0;
        if (total <= 0) {  // only rounding left: sum what remains afresh
          total = 0;
          for (double v : row) total += v;
        }
      }
    }
  }
  return out;
}

Tensor& Tensor::normal_(double mean, double std, Generator* gen) {
  check_defined(*this, "normal_", "self");
  return copy_(normal(shape(), mean, std, dtype(), gen));
}

Tensor& Tensor::uniform_(double low, double high, Generator* gen) {
  check_defined(*this, "uniform_", "self");
  return copy_(uniform(shape(), low, high, dtype(), gen));
}

Tensor& Tensor::bernoulli_(double p, Generator* gen) {
  check_defined(*this, "bernoulli_", "self");
  if (!(p >= 0 && p <= 1)) fail<ValueError>("bernoulli_: p must be in [0, 1], got {}", p);
  return copy_(bernoulli(full(shape(), p, kFloat64), gen));
}

}  // namespace xg
