#pragma once
/// Adagrad with learning-rate decay.
#include <vector>

#include "xgrad/optim/optimizer.h"

namespace xg::optim {

struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0.0;
  double weight_decay = 0.0;
  double initial_accumulator_value = 0.0;
  double eps = 1e-10;

  /// Errors for a negative lr, lr decay, weight decay, initial accumulator value or eps.
  void validate(const char* optimizer) const;
  HParams to_hparams() const;
  void from_hparams(const HParams& h, const char* optimizer);
};

/// As torch.optim.Adagrad (1.13): g += wd·p; clr = lr / (1 + (k-1)·lr_decay); sum += g² (starting
/// at initial_accumulator_value); p -= clr·g / (sqrt(sum) + eps). State per parameter: sum.
class Adagrad : public OptimizerWithOptions<AdagradOptions> {
 public:
  explicit Adagrad(std::vector<Tensor> params, AdagradOptions defaults = {});
  explicit Adagrad(std::vector<ParamGroup<AdagradOptions>> groups, AdagradOptions defaults = {});

 protected:
  void update(size_t group, const Tensor& p, const Tensor& g, ParamState& s) override;
};

}  // namespace xg::optim
