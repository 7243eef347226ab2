/// Conformance bindings: optimizer trajectories (optim.json) and lr schedules (lr_scheduler.json).
#include <memory>

#include "tests/conformance/conformance.h"
#include "xgrad/optim.h"

namespace xg::conformance {
namespace {

using namespace xg::optim;

std::unique_ptr<Optimizer> make_optimizer(const std::string& kind, std::vector<Tensor> params, const json& h) {
  if (kind == "SGD")
    return std::make_unique<SGD>(params, SGDOptions{.lr = h.at("lr"),
                                                    .momentum = h.at("momentum"),
                                                    .dampening = h.at("dampening"),
                                                    .weight_decay = h.at("weight_decay"),
                                                    .nesterov = h.at("nesterov")});
  if (kind == "Adam")
    return std::make_unique<Adam>(params, AdamOptions{.lr = h.at("lr"),
                                                      .betas = {h.at("betas").at(0), h.at("betas").at(1)},
                                                      .eps = h.at("eps"),
                                                      .weight_decay = h.at("weight_decay"),
                                                      .amsgrad = h.at("amsgrad")});
  if (kind == "AdamW")
    return std::make_unique<AdamW>(params, AdamWOptions{.lr = h.at("lr"),
                                                        .betas = {h.at("betas").at(0), h.at("betas").at(1)},
                                                        .eps = h.at("eps"),
                                                        .weight_decay = h.at("weight_decay"),
                                                        .amsgrad = h.at("amsgrad")});
  if (kind == "RMSprop")
    return std::make_unique<RMSprop>(params, RMSpropOptions{.lr = h.at("lr"),
                                                            .alpha = h.at("alpha"),
                                                            .eps = h.at("eps"),
                                                            .weight_decay = h.at("weight_decay"),
                                                            .momentum = h.at("momentum"),
                                                            .centered = h.at("centered")});
  if (kind == "Adagrad")
    return std::make_unique<Adagrad>(params,
                                     AdagradOptions{.lr = h.at("lr"),
                                                    .lr_decay = h.at("lr_decay"),
                                                    .weight_decay = h.at("weight_decay"),
                                                    .initial_accumulator_value = h.at("initial_accumulator_value"),
                                                    .eps = h.at("eps")});
  fail<ValueError>("no optimizer named {}", kind);
}

/// Section 4 of the fixtures' README: one group, set each gradient, step, compare every parameter.
CaseResult run_optimizer(const json& c) {
  std::vector<Tensor> params;
  for (const json& p : c.at("params")) params.push_back(parse_tensor(p).requires_grad_());
  auto opt = make_optimizer(c.at("optimizer"), params, c.at("hparams"));
  const double rtol = c.at("rtol"), atol = c.at("atol");
  size_t k = 0;
  for (const json& s : c.at("steps")) {
    ++k;
    for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(parse_tensor(s.at("grads").at(i)));
    opt->step();
    for (size_t i = 0; i < params.size(); ++i)
      if (auto err = compare(params[i], s.at("expected").at(i), rtol, atol); !err.empty())
        return {.error = fmt::format("step {}, param {}: {}", k, i, err)};
  }
  return {};
}

std::unique_ptr<EpochLRScheduler> make_epoch_scheduler(const std::string& kind, Optimizer& opt, const json& h) {
  if (kind == "StepLR") return std::make_unique<StepLR>(opt, h.at("step_size").get<int64_t>(), h.at("gamma"));
  if (kind == "MultiStepLR")
    return std::make_unique<MultiStepLR>(opt, h.at("milestones").get<std::vector<int64_t>>(), h.at("gamma"));
  if (kind == "ExponentialLR") return std::make_unique<ExponentialLR>(opt, h.at("gamma"));
  if (kind == "CosineAnnealingLR")
    return std::make_unique<CosineAnnealingLR>(opt, h.at("T_max").get<int64_t>(), h.at("eta_min"));
  if (kind == "LinearLR")
    return std::make_unique<LinearLR>(opt, h.at("start_factor"), h.at("end_factor"),
                                      h.at("total_iters").get<int64_t>());
  if (kind == "OneCycleLR")
    return std::make_unique<OneCycleLR>(opt, OneCycleLROptions{.max_lr = h.at("max_lr"),
                                                               .total_steps = h.at("total_steps"),
                                                               .pct_start = h.at("pct_start"),
                                                               .anneal_strategy = h.at("anneal_strategy"),
                                                               .cycle_momentum = h.at("cycle_momentum"),
                                                               .div_factor = h.at("div_factor"),
                                                               .final_div_factor = h.at("final_div_factor"),
                                                               .three_phase = h.at("three_phase")});
  fail<ValueError>("no scheduler named {}", kind);
}

/// Section 5: plain SGD at base_lr; check the lr before each step().
CaseResult run_scheduler(const json& c) {
  const std::string kind = c.at("scheduler");
  const json& h = c.at("hparams");
  SGD opt({zeros({1}).requires_grad_()}, SGDOptions{.lr = c.at("base_lr")});
  std::unique_ptr<EpochLRScheduler> sched;
  std::unique_ptr<ReduceLROnPlateau> plateau;
  if (kind == "ReduceLROnPlateau")
    plateau =
        std::make_unique<ReduceLROnPlateau>(opt, ReduceLROnPlateauOptions{.mode = h.at("mode"),
                                                                          .factor = h.at("factor"),
                                                                          .patience = h.at("patience"),
                                                                          .threshold = h.at("threshold"),
                                                                          .threshold_mode = h.at("threshold_mode"),
                                                                          .cooldown = h.at("cooldown"),
                                                                          .min_lr = {h.at("min_lr").get<double>()},
                                                                          .eps = h.at("eps")});
  else
    sched = make_epoch_scheduler(kind, opt, h);
  const json& expected = c.at("expected_lrs");
  const double rtol = c.at("rtol"), atol = c.at("atol");
  for (size_t k = 0; k < expected.size(); ++k) {
    const double e = expected[k], lr = opt.lr(0);
    if (!(std::abs(lr - e) <= atol + rtol * std::abs(e)))
      return {.error = fmt::format("epoch {}: lr {} expected {}", k, lr, e)};
    if (plateau)
      plateau->step(c.at("metrics").at(k));
    else
      sched->step();
  }
  return {};
}

const Register reg{{
                       {"SGD", run_optimizer},
                       {"Adam", run_optimizer},
                       {"AdamW", run_optimizer},
                       {"RMSprop", run_optimizer},
                       {"Adagrad", run_optimizer},
                       {"StepLR", run_scheduler},
                       {"MultiStepLR", run_scheduler},
                       {"ExponentialLR", run_scheduler},
                       {"CosineAnnealingLR", run_scheduler},
                       {"LinearLR", run_scheduler},
                       {"OneCycleLR", run_scheduler},
                       {"ReduceLROnPlateau", run_scheduler},
                   },
                   0};

}  // namespace
}  // namespace xg::conformance
