/// RMSprop: the update, which runs the fused kernel.
#include "xgrad/optim/rmsprop.h"

#include "core/dispatch.h"
#include "kernels/optim_kernels.h"

namespace xg::optim {

void RMSprop::update(size_t group, const Tensor& p, const Tensor& g, ParamState& s) {
  const RMSpropOptions& o = checked_options(group);
  Tensor& sq = buffer(s, "square_avg", p);
  Tensor ga = o.centered ? buffer(s, "grad_avg", p) : Tensor();
  Tensor buf = o.momentum > 0.0 ? buffer(s, "momentum_buffer", p) : Tensor();
  const kernels::RmspropCoeffs c{o.lr, o.alpha, o.eps, o.weight_decay, o.momentum};
  core::dispatch_float(p.dtype(), "RMSprop", [&]<class T>() {
    kernels::rmsprop_update<T>(p.data<T>(), g.data<T>(), sq.data<T>(), ga.defined() ? ga.data<T>() : nullptr,
                               buf.defined() ? buf.data<T>() : nullptr, p.numel(), c);
  });
}

}  // namespace xg::optim
