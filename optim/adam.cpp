/// Adam and AdamW: the update, which runs one fused kernel for both.
#include "xgrad/optim/adam.h"

#include <cmath>

#include "core/dispatch.h"
#include "kernels/optim_kernels.h"

namespace xg::optim {
namespace {

/// One Adam step of p; decoupled selects AdamW's weight decay.
template <class O>
void adam_step(const O& o, bool decoupled, const Tensor& p, const Tensor& g, ParamState& s, const char* name,
               Tensor& (*buffer)(ParamState&, const std::string&, const Tensor&, double)) {
  Tensor& m = buffer(s, "exp_avg", p, 0.0);
  Tensor& v = buffer(s, "exp_avg_sq", p, 0.0);
  Tensor vmax = o.amsgrad ? buffer(s, "max_exp_avg_sq", p, 0.0) : Tensor();
  const double k = static_cast<double>(s.step);
  kernels::AdamCoeffs c{};
  c.beta1 = o.betas[0];
  c.beta2 = o.betas[1];
  c.eps = o.eps;
  c.weight_decay = decoupled ? 0.0 : o.weight_decay;
  c.decay_factor = decoupled ? 1.0 - o.lr * o.weight_decay : 1.0;
  c.step_size = o.lr / (1.0 - std::pow(o.betas[0], k));
  c.bc2_sqrt = std::sqrt(1.0 - std::pow(o.betas[1], k));
  core::dispatch_float(p.dtype(), name, [&]<class T>() {
    kernels::adam_update<T>(p.data<T>(), g.data<T>(), m.data<T>(), v.data<T>(),
                            vmax.defined() ? vmax.data<T>() : nullptr, p.numel(), c);
  });
}

}  // namespace

void Adam::update(size_t group, const Tensor& p, const Tensor& g, ParamState& s) {
  adam_step(checked_options(group), false, p, g, s, "Adam", &Optimizer::buffer);
}

void AdamW::update(size_t group, const Tensor& p, const Tensor& g, ParamState& s) {
  adam_step(checked_options(group), true, p, g, s, "AdamW", &Optimizer::buffer);
}

}  // namespace xg::optim
