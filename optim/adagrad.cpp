/// Adagrad: options and the update, which runs the fused kernel.
#include "xgrad/optim/adagrad.h"

#include "core/dispatch.h"
#include "kernels/optim_kernels.h"
#include "optim/detail.h"

namespace xg::optim {

void AdagradOptions::validate(const char* optimizer) const {
  detail::check_non_negative(optimizer, "learning rate", lr);
  detail::check_non_negative(optimizer, "lr_decay value", lr_decay);
  detail::check_non_negative(optimizer, "weight_decay value", weight_decay);
  detail::check_non_negative(optimizer, "initial_accumulator_value", initial_accumulator_value);
  detail::check_non_negative(optimizer, "epsilon value", eps);
}

HParams AdagradOptions::to_hparams() const {
  return {{"lr", lr},
          {"lr_decay", lr_decay},
          {"weight_decay", weight_decay},
          {"initial_accumulator_value", initial_accumulator_value},
          {"eps", eps}};
}

void AdagradOptions::from_hparams(const HParams& h, const char* optimizer) {
  lr = detail::get(h, "lr", optimizer);
  lr_decay = detail::get(h, "lr_decay", optimizer);
  weight_decay = detail::get(h, "weight_decay", optimizer);
  initial_accumulator_value = detail::get(h, "initial_accumulator_value", optimizer);
  eps = detail::get(h, "eps", optimizer);
}

Adagrad::Adagrad(std::vector<Tensor> params, AdagradOptions defaults)
    : Adagrad(one_group(std::move(params)), defaults) {}
Adagrad::Adagrad(std::vector<ParamGroup<AdagradOptions>> groups, AdagradOptions defaults)
    : OptimizerWithOptions("Adagrad", std::move(groups), defaults) {}

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
