/// Adagrad: the update, which runs the fused kernel.
#include "xgrad/optim/adagrad.h"

#include "core/dispatch.h"
#include "kernels/optim_kernels.h"

namespace xg::optim {

void Adagrad::update(size_t group, const Tensor& p, const Tensor& g, ParamState& s) {
  const AdagradOptions& o = checked_options(group);
  Tensor& sum = buffer(s, "sum", p, o.initial_accumulator_value);
  const double clr = o.lr / (1.0 + static_cast<double>(s.step - 1) * o.lr_decay);
  const kernels::AdagradCoeffs c{clr, o.eps, o.weight_decay};
  core::dispatch_float(p.dtype(), "Adagrad", [&]<class T>() {
    kernels::adagrad_update<T>(p.data<T>(), g.data<T>(), sum.data<T>(), p.numel(), c);
  });
}

}  // namespace xg::optim
