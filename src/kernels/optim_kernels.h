#pragma once
/// Fused optimizer updates and gradient norms: one pass over a parameter's contiguous memory,
/// vectorised and parallel above a grain. Coefficients are computed by the caller in double.
#include <cstdint>

namespace xg::kernels {

struct SgdCoeffs {
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
  bool first;  ///< first step with momentum: the buffer takes the gradient undamped
};
/// buf may be null when momentum is 0.
template <class T>
void sgd_update(T* p, const T* g, T* buf, int64_t n, const SgdCoeffs& c);

struct AdamCoeffs {
  double beta1, beta2, eps;
  double weight_decay;  ///< L2 term added to the gradient (Adam)
  double decay_factor;  ///< p *= decay_factor first (AdamW: 1 - lr·wd; Adam: 1)
  double step_size;     ///< lr / (1 - beta1^k)
  double bc2_sqrt;      ///< sqrt(1 - beta2^k)
};
/// vmax is null without amsgrad.
template <class T>
void adam_update(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const AdamCoeffs& c);

struct RmspropCoeffs {
  double lr, alpha, eps, weight_decay, momentum;
};
/// grad_avg is null unless centered; buf is null unless momentum > 0.
template <class T>
void rmsprop_update(T* p, const T* g, T* square_avg, T* grad_avg, T* buf, int64_t n, const RmspropCoeffs& c);

struct AdagradCoeffs {
  double clr, eps, weight_decay;
};
template <class T>
void adagrad_update(T* p, const T* g, T* sum, int64_t n, const AdagradCoeffs& c);

/// sum |x|^order in double, or max |x| for an infinite order. Summed in fixed blocks whose
/// partial sums are added in order, so the result does not depend on the thread count.
template <class T>
double abs_pow_sum(const T* x, int64_t n, double order);

}  // namespace xg::kernels
