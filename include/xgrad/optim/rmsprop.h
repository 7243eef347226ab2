#pragma once
/// RMSprop, optionally centered and with momentum.
#include <vector>

#include "xgrad/optim/optimizer.h"

namespace xg::optim {

struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;

  /// Errors for a negative lr, alpha, eps, weight decay or momentum.
  void validate(const char* optimizer) const;
  HParams to_hparams() const;
  void from_hparams(const HParams& h, const char* optimizer);
};

/// As torch.optim.RMSprop (1.13): g += wd·p; s = α·s + (1-α)·g²; centered: a = α·a + (1-α)·g and
/// avg = sqrt(s - a²) + eps, else avg = sqrt(s) + eps (eps outside the root); with momentum
/// b = m·b + g/avg and p -= lr·b, else p -= lr·g/avg.
/// State per parameter: square_avg (grad_avg when centered, momentum_buffer with momentum).
class RMSprop : public OptimizerWithOptions<RMSpropOptions> {
 public:
  explicit RMSprop(std::vector<Tensor> params, RMSpropOptions defaults = {});
  explicit RMSprop(std::vector<ParamGroup<RMSpropOptions>> groups, RMSpropOptions defaults = {});

 protected:
  void update(size_t group, const Tensor& p, const Tensor& g, ParamState& s) override;
};

}  // namespace xg::optim
