/// Numerical gradient checks: analytic vector-Jacobian products against central differences, in float64.
#include <cmath>

#include "xgrad/autograd.h"
#include "xgrad/ops/elementwise.h"
#include "xgrad/ops/reduction.h"
#include "xgrad/random.h"

namespace xg::autograd {

namespace {

/// Inputs as float64 leaves (non-float inputs pass through unchanged and take no gradient).
std::vector<Tensor> to_double_leaves(const std::vector<Tensor>& inputs) {
  std::vector<Tensor> r;
  for (const Tensor& t : inputs) {
    if (t.defined() && is_floating(t.dtype())) {
      Tensor d = t.detach().to(kFloat64).clone();
      d.requires_grad_(t.requires_grad());
      r.push_back(d);
    } else {
      r.push_back(t);
    }
  }
  return r;
}

/// Scalar objective: Σ fn(x) · w for fixed random weights w (so every output element matters).
double objective(const std::function<Tensor(const std::vector<Tensor>&)>& fn, const std::vector<Tensor>& xs,
                 const Tensor& w) {
  NoGradGuard ng;
  return sum(mul(fn(xs).to(kFloat64), w)).item();
}

}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, double eps, double atol, double rtol, bool raise) {
  std::vector<Tensor> xs = to_double_leaves(inputs);
  Tensor out;
  {
    EnableGradGuard eg;
    out = fn(xs);
  }
  if (!out.defined()) fail<AutogradError>("gradcheck: the function returned an undefined tensor");
  Generator gen(1234);
  const Tensor w = randn(out.shape(), kFloat64, &gen);
  std::vector<Tensor> wrt;
  std::vector<size_t> idx;
  for (size_t i = 0; i < xs.size(); ++i)
    if (xs[i].defined() && xs[i].requires_grad()) {
      wrt.push_back(xs[i]);
      idx.push_back(i);
    }
  if (wrt.empty()) fail<AutogradError>("gradcheck: no input requires grad");
  // An output that does not depend on the inputs (e.g. the derivative of a linear term) has zero
  // analytic gradient; the finite differences must then agree that it is constant.
  std::vector<Tensor> analytic(wrt.size());
  if (out.requires_grad()) analytic = grad({out.to(kFloat64)}, wrt, {w}, false, false, true);
  GradcheckResult res;
  for (size_t k = 0; k < wrt.size(); ++k) {
    Tensor x = wrt[k];
    double* p = x.data<double>();
    const std::vector<double> a = analytic[k].defined() ? analytic[k].to_vector<double>()
                                                        : std::vector<double>(static_cast<size_t>(x.numel()), 0.0);
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double orig = p[i];
      p[i] = orig + eps;
      const double fp = objective(fn, xs, w);
      p[i] = orig - eps;
      const double fm = objective(fn, xs, w);
      p[i] = orig;
      const double num = (fp - fm) / (2 * eps);
      const double ai = a[static_cast<size_t>(i)];
      const double err = std::abs(ai - num);
      const double rel = err / std::max(std::abs(num), 1e-12);
      const bool bad = !(err <= atol + rtol * std::abs(num));
      if (err > res.max_abs_error || bad) {
        res.max_abs_error = std::max(res.max_abs_error, err);
        res.max_rel_error = std::max(res.max_rel_error, rel);
        if (bad || res.worst.empty())
          res.worst = fmt::format("input {} element {}: analytic {:.10g}, numeric {:.10g}", idx[k], i, ai, num);
      }
      if (bad) res.ok = false;
    }
  }
  if (!res.ok && raise)
    fail<AutogradError>("gradcheck failed: worst at {} (max abs error {:.3g})", res.worst, res.max_abs_error);
  return res;
}

GradcheckResult gradgradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                              const std::vector<Tensor>& inputs, double eps, double atol, double rtol, bool raise) {
  // The function under test: x -> flattened first derivatives of Σ fn(x)·w (built with create_graph).
  std::vector<Tensor> probe = to_double_leaves(inputs);
  Tensor out0;
  {
    EnableGradGuard eg;
    out0 = fn(probe);
  }
  Generator gen(4321);
  const Tensor w = randn(out0.shape(), kFloat64, &gen);
  // Each input's first gradient, as a function of all inputs, must pass gradcheck itself.
  GradcheckResult total;
  size_t n_wrt = 0;
  for (const Tensor& x : probe)
    if (x.defined() && x.requires_grad()) ++n_wrt;
  for (size_t j = 0; j < n_wrt; ++j) {
    auto gj = [fn, w, j](const std::vector<Tensor>& xs) -> Tensor {
      EnableGradGuard eg;
      std::vector<Tensor> wrt;
      for (const Tensor& x : xs)
        if (x.defined() && x.requires_grad()) wrt.push_back(x);
      const Tensor y = fn(xs).to(kFloat64);
      std::vector<Tensor> gs = grad({y}, wrt, {w}, true, true, true);
      return gs[j].defined() ? gs[j] : zeros(wrt[j].shape(), kFloat64);
    };
    GradcheckResult r = gradcheck(gj, probe, eps, atol, rtol, false);
    total.max_abs_error = std::max(total.max_abs_error, r.max_abs_error);
    total.max_rel_error = std::max(total.max_rel_error, r.max_rel_error);
    if (!r.ok) {
      total.ok = false;
      total.worst = fmt::format("second derivative through first-gradient {}: {}", j, r.worst);
    }
  }
  if (!total.ok && raise)
    fail<AutogradError>("gradgradcheck failed: {} (max abs error {:.3g})", total.worst, total.max_abs_error);
  return total;
}

}  // namespace xg::autograd
