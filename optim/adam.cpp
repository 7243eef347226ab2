/// Adam and AdamW: options and the update, which runs one fused kernel for both.
#include "xgrad/optim/adam.h"

#include <cmath>

#include "core/dispatch.h"
#include "kernels/optim_kernels.h"
#include "optim/detail.h"

namespace xg::optim {
namespace {

template <class O>
void validate_adam(const O& o, const char* optimizer) {
  detail::check_non_negative(optimizer, "learning rate", o.lr);
  detail::check_non_negative(optimizer, "epsilon value", o.eps);
  detail::check_beta(optimizer, 0, o.betas[0]);
  detail::check_beta(optimizer, 1, o.betas[1]);
  detail::check_non_negative(optimizer, "weight_decay value", o.weight_decay);
}

template <class O>
HParams adam_hparams(const O& o) {
  return {{"lr", o.lr},
          {"beta1", o.betas[0]},
          {"beta2", o.betas[1]},
          {"eps", o.eps},
          {"weight_decay", o.weight_decay},
          {"amsgrad", o.amsgrad ? 1.0 : 0.0}};
}

template <class O>
void adam_from_hparams(O& o, const HParams& h, const char* optimizer) {
  o.lr = detail::get(h, "lr", optimizer);
  o.betas = {detail::get(h, "beta1", optimizer), detail::get(h, "beta2", optimizer)};
  o.eps = detail::get(h, "eps", optimizer);
  o.weight_decay = detail::get(h, "weight_decay", optimizer);
  o.amsgrad = detail::get_bool(h, "amsgrad", optimizer);
}

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

void AdamOptions::validate(const char* optimizer) const { validate_adam(*this, optimizer); }
HParams AdamOptions::to_hparams() const { return adam_hparams(*this); }
void AdamOptions::from_hparams(const HParams& h, const char* optimizer) { adam_from_hparams(*this, h, optimizer); }
void AdamWOptions::validate(const char* optimizer) const { validate_adam(*this, optimizer); }
HParams AdamWOptions::to_hparams() const { return adam_hparams(*this); }
void AdamWOptions::from_hparams(const HParams& h, const char* optimizer) { adam_from_hparams(*this, h, optimizer); }

Adam::Adam(std::vector<Tensor> params, AdamOptions defaults) : Adam(one_group(std::move(params)), defaults) {}
Adam::Adam(std::vector<ParamGroup<AdamOptions>> groups, AdamOptions defaults)
    : OptimizerWithOptions("Adam", std::move(groups), defaults) {}

void Adam::update(size_t group, const Tensor& p, const Tensor& g, ParamState& s) {
  adam_step(checked_options(group), false, p, g, s, "Adam", &Optimizer::buffer);
}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions defaults) : AdamW(one_group(std::move(params)), defaults) {}
AdamW::AdamW(std::vector<ParamGroup<AdamWOptions>> groups, AdamWOptions defaults)
    : OptimizerWithOptions("AdamW", std::move(groups), defaults) {}

void AdamW::update(size_t group, const Tensor& p, const Tensor& g, ParamState& s) {
  adam_step(checked_options(group), true, p, g, s, "AdamW", &Optimizer::buffer);
}

}  // namespace xg::optim
