/// Gradient clipping by total norm and by value.
#include "xgrad/optim/clip.h"

#include <cmath>

#include "core/dispatch.h"
#include "kernels/optim_kernels.h"
#include "xgrad/autograd.h"

namespace xg::optim {

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type, bool error_if_nonfinite) {
  if (!(norm_type > 0.0)) fail<ValueError>("clip_grad_norm_: norm_type must be > 0 or infinity, got {}", norm_type);
  if (!(max_norm >= 0.0)) fail<ValueError>("clip_grad_norm_: max_norm must be >= 0, got {}", max_norm);
  NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const Tensor& p : params)
    if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0.0;
  const bool inf = std::isinf(norm_type);
  // One sum of |g|^p over all gradients (for inf, one max): the p-norm of per-tensor p-norms,
  // as PyTorch computes it, without rounding the intermediate norms.
  double acc = 0.0;
  for (const Tensor& g : grads) {
    const Tensor c = g.contiguous();
    const double s = core::dispatch_float(c.dtype(), "clip_grad_norm_", [&]<class T>() {
      return kernels::abs_pow_sum<T>(c.data<T>(), c.numel(), norm_type);
    });
    acc = inf ? ((s > acc || std::isnan(s)) ? s : acc) : acc + s;
  }
  const double total = inf ? acc : (norm_type == 2.0 ? std::sqrt(acc) : std::pow(acc, 1.0 / norm_type));
  if (error_if_nonfinite && !std::isfinite(total))
    fail<ValueError>(
        "clip_grad_norm_: the total norm of order {} of the gradients is non-finite ({}), so it cannot be "
        "clipped; pass error_if_nonfinite = false to scale the gradients by it anyway",
        norm_type, total);
  const double coef = max_norm / (total + 1e-6);
  // PyTorch multiplies by min(coef, 1) always; a factor of exactly 1 changes nothing, so skip it.
  if (std::isnan(coef) || coef < 1.0)
    for (Tensor g : grads) g.mul_(coef);
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  if (!(clip_value >= 0.0)) fail<ValueError>("clip_grad_value_: clip_value must be >= 0, got {}", clip_value);
  NoGradGuard no_grad;
  for (const Tensor& p : params)
    if (p.defined() && p.grad().defined()) p.grad().clamp_(-clip_value, clip_value);
}

}  // namespace xg::optim
