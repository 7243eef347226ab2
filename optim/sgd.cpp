/// SGD: the Nesterov check and the update, which runs the fused kernel.
#include "xgrad/optim/sgd.h"

#include "core/dispatch.h"
#include "kernels/optim_kernels.h"

namespace xg::optim {

void SGDOptions::check(const char* optimizer) const {
  if (nesterov && (momentum <= 0.0 || dampening != 0.0))
    fail<ValueError>("{}: Nesterov momentum requires a momentum > 0 and zero dampening (got momentum {}, dampening {})",
                     optimizer, momentum, dampening);
}

void SGD::update(size_t group, const Tensor& p, const Tensor& g, ParamState& s) {
  const SGDOptions& o = checked_options(group);
  Tensor buf;
  bool first = false;
  if (o.momentum != 0.0) {
    // PyTorch keeps no buffer until the first step with momentum, which copies the gradient.
    first = !s.buffers.count("momentum_buffer");
    buf = buffer(s, "momentum_buffer", p);
  }
  const kernels::SgdCoeffs c{o.lr, o.momentum, o.dampening, o.weight_decay, o.nesterov, first};
  core::dispatch_float(p.dtype(), "SGD", [&]<class T>() {
    kernels::sgd_update<T>(p.data<T>(), g.data<T>(), buf.defined() ? buf.data<T>() : nullptr, p.numel(), c);
  });
}

}  // namespace xg::optim
