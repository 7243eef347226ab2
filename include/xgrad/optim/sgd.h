#pragma once
/// Stochastic gradient descent with momentum, dampening, L2 weight decay and Nesterov momentum.
#include <vector>

#include "xgrad/optim/optimizer.h"

namespace xg::optim {

struct SGDOptions {
  double lr = 1e-3;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;

  /// Errors (ValueError naming the optimizer and value) for a negative lr, momentum or weight
  /// decay, and for Nesterov momentum without momentum or with dampening.
  void validate(const char* optimizer) const;
  HParams to_hparams() const;
  void from_hparams(const HParams& h, const char* optimizer);
};

/// As torch.optim.SGD (1.13): g += wd·p; b = g on the first step, then b = m·b + (1-d)·g;
/// g = g + m·b (Nesterov) or b; p -= lr·g.
class SGD : public OptimizerWithOptions<SGDOptions> {
 public:
  explicit SGD(std::vector<Tensor> params, SGDOptions defaults = {});
  explicit SGD(std::vector<ParamGroup<SGDOptions>> groups, SGDOptions defaults = {});

 protected:
  void update(size_t group, const Tensor& p, const Tensor& g, ParamState& s) override;
};

}  // namespace xg::optim
