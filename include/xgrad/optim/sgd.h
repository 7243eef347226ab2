#pragma once
/// Stochastic gradient descent with momentum, dampening, L2 weight decay and Nesterov momentum.
#include <vector>

#include "xgrad/optim/optimizer.h"

namespace xg::optim {

struct SGDOptions {
  static constexpr const char* kOptimizer = "SGD";
  double lr = 1e-3;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;

  /// Each option by name; a negative lr, momentum or weight decay is an error.
  template <class O, class F>
  static void fields(O& o, F&& f) {
    f("lr", o.lr, OptionCheck::non_negative("learning rate"));
    f("momentum", o.momentum, OptionCheck::non_negative("momentum value"));
    f("dampening", o.dampening, OptionCheck::any());
    f("weight_decay", o.weight_decay, OptionCheck::non_negative("weight_decay value"));
    f("nesterov", o.nesterov, OptionCheck::any());
  }
  /// Nesterov momentum without momentum or with dampening is an error.
  void check(const char* optimizer) const;
};

/// As torch.optim.SGD (1.13): g += wd·p; b = g on the first step, then b = m·b + (1-d)·g;
/// g = g + m·b (Nesterov) or b; p -= lr·g.
class SGD : public OptimizerWithOptions<SGDOptions> {
 public:
  using OptimizerWithOptions::OptimizerWithOptions;

 protected:
  void update(size_t group, const Tensor& p, const Tensor& g, ParamState& s) override;
};

}  // namespace xg::optim
