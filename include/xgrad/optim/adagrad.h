#pragma once
/// Adagrad with learning-rate decay.
#include <vector>

#include "xgrad/optim/optimizer.h"

namespace xg::optim {

struct AdagradOptions {
  static constexpr const char* kOptimizer = "Adagrad";
  double lr = 1e-2;
  double lr_decay = 0.0;
  double weight_decay = 0.0;
  double initial_accumulator_value = 0.0;
  double eps = 1e-10;

  /// Each option by name; every one must be >= 0.
  template <class O, class F>
  static void fields(O& o, F&& f) {
    f("lr", o.lr, OptionCheck::non_negative("learning rate"));
    f("lr_decay", o.lr_decay, OptionCheck::non_negative("lr_decay value"));
    f("weight_decay", o.weight_decay, OptionCheck::non_negative("weight_decay value"));
    f("initial_accumulator_value", o.initial_accumulator_value, OptionCheck::non_negative("initial_accumulator_value"));
    f("eps", o.eps, OptionCheck::non_negative("epsilon value"));
  }
};

/// As torch.optim.Adagrad (1.13): g += wd·p; clr = lr / (1 + (k-1)·lr_decay); sum += g² (starting
/// at initial_accumulator_value); p -= clr·g / (sqrt(sum) + eps). State per parameter: sum.
class Adagrad : public OptimizerWithOptions<AdagradOptions> {
 public:
  using OptimizerWithOptions::OptimizerWithOptions;

 protected:
  void update(size_t group, const Tensor& p, const Tensor& g, ParamState& s) override;
};

}  // namespace xg::optim
