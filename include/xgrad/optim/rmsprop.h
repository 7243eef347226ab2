#pragma once
/// RMSprop, optionally centered and with momentum.
#include <vector>

#include "xgrad/optim/optimizer.h"

namespace xg::optim {

struct RMSpropOptions {
  static constexpr const char* kOptimizer = "RMSprop";
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;

  /// Each option by name; all but `centered` must be >= 0.
  template <class O, class F>
  static void fields(O& o, F&& f) {
    f("lr", o.lr, OptionCheck::non_negative("learning rate"));
    f("eps", o.eps, OptionCheck::non_negative("epsilon value"));
    f("momentum", o.momentum, OptionCheck::non_negative("momentum value"));
    f("weight_decay", o.weight_decay, OptionCheck::non_negative("weight_decay value"));
    f("alpha", o.alpha, OptionCheck::non_negative("alpha value"));
    f("centered", o.centered, OptionCheck::any());
  }
};

/// As torch.optim.RMSprop (1.13): g += wd·p; s = α·s + (1-α)·g²; centered: a = α·a + (1-α)·g and
/// avg = sqrt(s - a²) + eps, else avg = sqrt(s) + eps (eps outside the root); with momentum
/// b = m·b + g/avg and p -= lr·b, else p -= lr·g/avg.
/// State per parameter: square_avg (grad_avg when centered, momentum_buffer with momentum).
class RMSprop : public OptimizerWithOptions<RMSpropOptions> {
 public:
  using OptimizerWithOptions::OptimizerWithOptions;

 protected:
  void update(size_t group, const Tensor& p, const Tensor& g, ParamState& s) override;
};

}  // namespace xg::optim
