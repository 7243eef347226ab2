#pragma once
/// Adam (with L2 weight decay folded into the gradient) and AdamW (decoupled weight decay).
#include <array>
#include <vector>

#include "xgrad/optim/optimizer.h"

namespace xg::optim {

namespace detail {
/// Adam's and AdamW's options by name (the betas as beta1 and beta2); a negative lr, eps or weight
/// decay, or betas outside [0, 1), are errors.
template <class O, class F>
void adam_fields(O& o, F&& f) {
  f("lr", o.lr, OptionCheck::non_negative("learning rate"));
  f("eps", o.eps, OptionCheck::non_negative("epsilon value"));
  f("beta1", o.betas[0], OptionCheck::beta(0));
  f("beta2", o.betas[1], OptionCheck::beta(1));
  f("weight_decay", o.weight_decay, OptionCheck::non_negative("weight_decay value"));
  f("amsgrad", o.amsgrad, OptionCheck::any());
}
}  // namespace detail

struct AdamOptions {
  static constexpr const char* kOptimizer = "Adam";
  double lr = 1e-3;
  std::array<double, 2> betas{0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool amsgrad = false;

  template <class O, class F>
  static void fields(O& o, F&& f) {
    detail::adam_fields(o, f);
  }
};

/// AdamW's options: Adam's, with PyTorch's default weight decay of 0.01.
struct AdamWOptions {
  static constexpr const char* kOptimizer = "AdamW";
  double lr = 1e-3;
  std::array<double, 2> betas{0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;

  template <class O, class F>
  static void fields(O& o, F&& f) {
    detail::adam_fields(o, f);
  }
};

/// As torch.optim.Adam (1.13): g += wd·p; m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²
/// (v_max = max(v_max, v) with amsgrad); p -= lr/(1-β1^k) · m / (sqrt(v)/sqrt(1-β2^k) + eps).
/// State per parameter: exp_avg, exp_avg_sq (and max_exp_avg_sq).
class Adam : public OptimizerWithOptions<AdamOptions> {
 public:
  using OptimizerWithOptions::OptimizerWithOptions;

 protected:
  void update(size_t group, const Tensor& p, const Tensor& g, ParamState& s) override;
};

/// As torch.optim.AdamW (1.13): p *= 1 - lr·wd, then Adam's update without the L2 term.
class AdamW : public OptimizerWithOptions<AdamWOptions> {
 public:
  using OptimizerWithOptions::OptimizerWithOptions;

 protected:
  void update(size_t group, const Tensor& p, const Tensor& g, ParamState& s) override;
};

}  // namespace xg::optim
