#pragma once
/// Adam (with L2 weight decay folded into the gradient) and AdamW (decoupled weight decay).
#include <array>
#include <vector>

#include "xgrad/optim/optimizer.h"

namespace xg::optim {

struct AdamOptions {
  double lr = 1e-3;
  std::array<double, 2> betas{0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool amsgrad = false;

  /// Errors for a negative lr, eps or weight decay, and betas outside [0, 1).
  void validate(const char* optimizer) const;
  HParams to_hparams() const;
  void from_hparams(const HParams& h, const char* optimizer);
};

/// AdamW's options: Adam's, with PyTorch's default weight decay of 0.01.
struct AdamWOptions {
  double lr = 1e-3;
  std::array<double, 2> betas{0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;

  void validate(const char* optimizer) const;
  HParams to_hparams() const;
  void from_hparams(const HParams& h, const char* optimizer);
};

/// As torch.optim.Adam (1.13): g += wd·p; m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²
/// (v_max = max(v_max, v) with amsgrad); p -= lr/(1-β1^k) · m / (sqrt(v)/sqrt(1-β2^k) + eps).
/// State per parameter: exp_avg, exp_avg_sq (and max_exp_avg_sq).
class Adam : public OptimizerWithOptions<AdamOptions> {
 public:
  explicit Adam(std::vector<Tensor> params, AdamOptions defaults = {});
  explicit Adam(std::vector<ParamGroup<AdamOptions>> groups, AdamOptions defaults = {});

 protected:
  void update(size_t group, const Tensor& p, const Tensor& g, ParamState& s) override;
};

/// As torch.optim.AdamW (1.13): p *= 1 - lr·wd, then Adam's update without the L2 term.
class AdamW : public OptimizerWithOptions<AdamWOptions> {
 public:
  explicit AdamW(std::vector<Tensor> params, AdamWOptions defaults = {});
  explicit AdamW(std::vector<ParamGroup<AdamWOptions>> groups, AdamWOptions defaults = {});

 protected:
  void update(size_t group, const Tensor& p, const Tensor& g, ParamState& s) override;
};

}  // namespace xg::optim
