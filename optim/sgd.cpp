/// SGD: options and the update, which runs the fused kernel.
#include "xgrad/optim/sgd.h"

#include "core/dispatch.h"
#include "kernels/optim_kernels.h"
#include "optim/detail.h"

namespace xg::optim {

void SGDOptions::validate(const char* optimizer) const {
  detail::check_non_negative(optimizer, "learning rate", lr);
  detail::check_non_negative(optimizer, "momentum value", momentum);
  detail::check_non_negative(optimizer, "weight_decay value", weight_decay);
  if (nesterov && (momentum <= 0.0 || dampening != 0.0))
    fail<ValueError>("{}: Nesterov momentum requires a momentum > 0 and zero dampening (got momentum {}, dampening {})",
                     optimizer, momentum, dampening);
}

HParams SGDOptions::to_hparams() const {
  return {{"lr", lr},
          {"momentum", momentum},
          {"dampening", dampening},
          {"weight_decay", weight_decay},
          {"nesterov", nesterov ? 1.0 : 0.0}};
}

void SGDOptions::from_hparams(const HParams& h, const char* optimizer) {
  lr = detail::get(h, "lr", optimizer);
  momentum = detail::get(h, "momentum", optimizer);
  dampening = detail::get(h, "dampening", optimizer);
  weight_decay = detail::get(h, "weight_decay", optimizer);
  nesterov = detail::get_bool(h, "nesterov", optimizer);
}

SGD::SGD(std::vector<Tensor> params, SGDOptions defaults) : SGD(one_group(std::move(params)), defaults) {}
SGD::SGD(std::vector<ParamGroup<SGDOptions>> groups, SGDOptions defaults)
    : OptimizerWithOptions("SGD", std::move(groups), defaults) {}

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
