/// RMSprop: options and the update, which runs the fused kernel.
#include "xgrad/optim/rmsprop.h"

#include "core/dispatch.h"
#include "kernels/optim_kernels.h"
#include "optim/detail.h"

namespace xg::optim {

void RMSpropOptions::validate(const char* optimizer) const {
  detail::check_non_negative(optimizer, "learning rate", lr);
  detail::check_non_negative(optimizer, "epsilon value", eps);
  detail::check_non_negative(optimizer, "momentum value", momentum);
  detail::check_non_negative(optimizer, "weight_decay value", weight_decay);
  detail::check_non_negative(optimizer, "alpha value", alpha);
}

HParams RMSpropOptions::to_hparams() const {
  return {{"lr", lr},
          {"alpha", alpha},
          {"eps", eps},
          {"weight_decay", weight_decay},
          {"momentum", momentum},
          {"centered", centered ? 1.0 : 0.0}};
}

void RMSpropOptions::from_hparams(const HParams& h, const char* optimizer) {
  lr = detail::get(h, "lr", optimizer);
  alpha = detail::get(h, "alpha", optimizer);
  eps = detail::get(h, "eps", optimizer);
  weight_decay = detail::get(h, "weight_decay", optimizer);
  momentum = detail::get(h, "momentum", optimizer);
  centered = detail::get_bool(h, "centered", optimizer);
}

RMSprop::RMSprop(std::vector<Tensor> params, RMSpropOptions defaults)
    : RMSprop(one_group(std::move(params)), defaults) {}
RMSprop::RMSprop(std::vector<ParamGroup<RMSpropOptions>> groups, RMSpropOptions defaults)
    : OptimizerWithOptions("RMSprop", std::move(groups), defaults) {}

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
