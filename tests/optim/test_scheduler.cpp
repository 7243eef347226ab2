/// LR schedulers: hand-computed schedules (SequentialLR and ChainedScheduler included), momentum
/// cycling, state round trips that continue exactly, and argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <numbers>
#include <string>
#include <vector>

#include "xgrad/optim.h"
#include "xgrad/xgrad.h"

namespace {

using namespace xg;
using namespace xg::optim;

/// lr before each of n steps.
template <class S>
std::vector<double> lrs(Optimizer& opt, S& s, int n) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) {
    v.push_back(opt.lr(0));
    s.step();
  }
  return v;
}

void expect_near(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-12 * (1 + std::abs(want[i]))) << "epoch " << i;
}

struct Fixture {
  Tensor p = zeros({2}).requires_grad_();
  SGD opt{std::vector<Tensor>{p}, SGDOptions{.lr = 1.0, .momentum = 0.9}};
};

TEST(Scheduler, ClosedForms) {
  {
    Fixture f;
    StepLR s(f.opt, 3, 0.5);
    expect_near(lrs(f.opt, s, 7), {1, 1, 1, 0.5, 0.5, 0.5, 0.25});
  }
  {
    Fixture f;
    MultiStepLR s(f.opt, {4, 2, 4}, 0.1);  // unsorted, with a repeated milestone
    expect_near(lrs(f.opt, s, 6), {1, 1, 0.1, 0.1, 0.001, 0.001});
  }
  {
    Fixture f;
    ExponentialLR s(f.opt, 0.9);
    expect_near(lrs(f.opt, s, 4), {1, 0.9, 0.81, 0.729});
  }
  {
    Fixture f;
    CosineAnnealingLR s(f.opt, 4, 0.1);
    std::vector<double> want;
    for (int e = 0; e < 11; ++e) want.push_back(0.1 + 0.9 * (1 + std::cos(std::numbers::pi * e / 4)) / 2);
    expect_near(lrs(f.opt, s, 11), want);  // past T_max it rises again: no clamping
  }
  {
    Fixture f;
    LinearLR s(f.opt, 0.25, 1.0, 3);
    expect_near(lrs(f.opt, s, 6), {0.25, 0.5, 0.75, 1, 1, 1});
  }
}

TEST(Scheduler, GroupsScaleFromTheirOwnBaseLr) {
  Tensor a = zeros({1}).requires_grad_(), b = zeros({1}).requires_grad_();
  SGD opt({ParamGroup<SGDOptions>{{a}}, ParamGroup{std::vector<Tensor>{b}, SGDOptions{.lr = 0.5}}},
          SGDOptions{.lr = 2.0});
  StepLR s(opt, 1, 0.5);
  s.step();
  EXPECT_DOUBLE_EQ(opt.lr(0), 1.0);
  EXPECT_DOUBLE_EQ(opt.lr(1), 0.25);
  EXPECT_EQ(s.last_lr(), (std::vector<double>{1.0, 0.25}));
  EXPECT_EQ(s.base_lrs(), (std::vector<double>{2.0, 0.5}));
  EXPECT_DOUBLE_EQ(opt.hparam(1, "initial_lr"), 0.5);
}

TEST(Scheduler, OneCycleWithMomentum) {
  Fixture f;
  OneCycleLR s(f.opt, OneCycleLROptions{.max_lr = 1.0, .total_steps = 10, .pct_start = 0.3});
  // Phases: up over [0, 2], down over [2, 9]; momentum the other way between 0.95 and 0.85.
  auto cosine = [](double from, double to, double pct) {
    return to + (from - to) / 2 * (std::cos(std::numbers::pi * pct) + 1);
  };
  const double initial = 1.0 / 25, min_lr = initial / 1e4;
  for (int e = 0; e <= 10; ++e) {
    const double lr = e <= 2 ? cosine(initial, 1.0, e / 2.0) : cosine(1.0, min_lr, (e - 2) / 7.0);
    const double m = e <= 2 ? cosine(0.95, 0.85, e / 2.0) : cosine(0.85, 0.95, (e - 2) / 7.0);
    EXPECT_NEAR(f.opt.lr(0), lr, 1e-12) << e;
    EXPECT_NEAR(f.opt.hparam(0, "momentum"), m, 1e-12) << e;
    s.step();  // the 10th step reaches total_steps: allowed
    if (e == 9) break;
  }
  EXPECT_THROW(s.step(), ValueError);  // past total_steps

  Tensor p = zeros({1}).requires_grad_();
  Adam adam({p});
  OneCycleLR s2(adam, OneCycleLROptions{.max_lr = 0.1, .epochs = 2, .steps_per_epoch = 5});
  EXPECT_DOUBLE_EQ(adam.hparam(0, "beta1"), 0.95);  // Adam cycles beta1
  EXPECT_DOUBLE_EQ(adam.lr(0), 0.1 / 25);

  Adagrad ada({p});
  EXPECT_THROW(OneCycleLR(ada, OneCycleLROptions{.total_steps = 10}), ValueError);  // nothing to cycle
  OneCycleLR ok(ada, OneCycleLROptions{.total_steps = 10, .cycle_momentum = false});
  EXPECT_DOUBLE_EQ(ada.lr(0), 0.1 / 25);
}

TEST(Scheduler, ReduceLROnPlateau) {
  Fixture f;
  ReduceLROnPlateau s(f.opt, ReduceLROnPlateauOptions{.factor = 0.5, .patience = 1, .cooldown = 1, .min_lr = {0.2}});
  // best 1.0; two bad epochs halve the lr, the cooldown swallows the next bad one, two more halve
  // it again, and the third reduction stops at min_lr.
  const std::vector<double> metrics = {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5};
  const std::vector<double> want = {1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2};
  for (size_t i = 0; i < metrics.size(); ++i) {
    s.step(metrics[i]);
    EXPECT_DOUBLE_EQ(f.opt.lr(0), want[i]) << "after metric " << i;
  }
  EXPECT_DOUBLE_EQ(s.best(), 0.5);
  EXPECT_THROW(ReduceLROnPlateau(f.opt, ReduceLROnPlateauOptions{.factor = 1.0}), ValueError);
  EXPECT_THROW(ReduceLROnPlateau(f.opt, ReduceLROnPlateauOptions{.mode = "maximum"}), ValueError);
  EXPECT_THROW(ReduceLROnPlateau(f.opt, ReduceLROnPlateauOptions{.min_lr = {0.1, 0.2}}), ValueError);
}

TEST(Scheduler, SequentialLR) {
  Fixture f;
  auto warm = std::make_shared<LinearLR>(f.opt, 0.5, 1.0, 2);
  auto decay = std::make_shared<ExponentialLR>(f.opt, 0.9);
  SequentialLR s(f.opt, {warm, decay}, {3});
  // Warm-up 0.5 → 0.75 → 1.0, then at the milestone ExponentialLR restarts from its epoch 0 (base
  // lr 1.0) and decays by 0.9 per step: PyTorch 1.13's behaviour.
  expect_near(lrs(f.opt, s, 7), {0.5, 0.75, 1.0, 1.0, 0.9, 0.81, 0.729});
  EXPECT_EQ(s.last_epoch(), 7);

  Fixture g;
  auto other = std::make_shared<ExponentialLR>(g.opt, 0.5);
  EXPECT_THROW(SequentialLR(f.opt, {warm, other}, {3}), ValueError);  // another optimizer
  EXPECT_THROW(SequentialLR(f.opt, {warm, decay}, {}), ValueError);   // milestones count
}

TEST(Scheduler, SequentialLRWithCosine) {
  Fixture f;
  auto warm = std::make_shared<LinearLR>(f.opt, 0.1, 1.0, 2);
  auto cos = std::make_shared<CosineAnnealingLR>(f.opt, 4, 0.0);
  SequentialLR s(f.opt, {warm, cos}, {2});
  std::vector<double> want = {0.1, 0.55};
  for (int e = 0; e < 5; ++e) want.push_back((1 + std::cos(std::numbers::pi * e / 4)) / 2);
  expect_near(lrs(f.opt, s, 7), want);
}

TEST(Scheduler, ChainedScheduler) {
  Fixture f;
  auto a = std::make_shared<ExponentialLR>(f.opt, 0.9);
  auto b = std::make_shared<StepLR>(f.opt, 2, 0.1);
  ChainedScheduler s({a, b});
  std::vector<double> want;
  for (int e = 0; e < 6; ++e) want.push_back(std::pow(0.9, e) * std::pow(0.1, e / 2));  // factors multiply
  expect_near(lrs(f.opt, s, 6), want);
  EXPECT_DOUBLE_EQ(s.last_lr()[0], f.opt.lr(0));

  Fixture g;
  auto c = std::make_shared<ExponentialLR>(g.opt, 0.5);
  EXPECT_THROW(ChainedScheduler({a, c}), ValueError);
}

/// Runs make() for n steps, or for split steps, then saves optimizer and scheduler state (through
/// files), rebuilds both and continues: the lrs must be the same doubles.
using Make = std::function<std::shared_ptr<LRScheduler>(Optimizer&)>;

std::vector<double> run(const Make& make, int n, int split) {
  Tensor p = zeros({1}).requires_grad_();
  auto opt = std::make_unique<SGD>(std::vector<Tensor>{p}, SGDOptions{.lr = 0.3, .momentum = 0.9});
  auto s = make(*opt);
  std::vector<double> out;
  for (int i = 0; i < n; ++i) {
    if (i == split) {
      const auto dir = std::filesystem::temp_directory_path();
      const std::string op = (dir / "xgrad_test_sched_opt.safetensors").string(),
                        sp = (dir / "xgrad_test_sched.json").string();
      opt->save(op);
      s->state_dict().save(sp);
      Tensor p2 = zeros({1}).requires_grad_();
      opt = std::make_unique<SGD>(std::vector<Tensor>{p2}, SGDOptions{.lr = 0.3, .momentum = 0.9});
      s = make(*opt);  // construction moves the lr; loading puts everything back
      opt->load(op);
      s->load_state_dict(SchedulerState::load(sp));
      std::remove(op.c_str());
      std::remove(sp.c_str());
    }
    out.push_back(opt->lr(0));
    out.push_back(opt->hparam(0, "momentum"));
    s->step();
  }
  return out;
}

TEST(Scheduler, StateRoundTripContinuesExactly) {
  const std::vector<std::pair<std::string, Make>> makers = {
      {"StepLR", [](Optimizer& o) { return std::make_shared<StepLR>(o, 2, 0.5); }},
      {"MultiStepLR",
       [](Optimizer& o) {
         return std::make_shared<MultiStepLR>(o, std::vector<int64_t>{1, 4}, 0.5);
       }},
      {"Cosine", [](Optimizer& o) { return std::make_shared<CosineAnnealingLR>(o, 3, 0.01); }},
      {"LinearLR", [](Optimizer& o) { return std::make_shared<LinearLR>(o, 0.2, 1.0, 5); }},
      {"OneCycle",
       [](Optimizer& o) { return std::make_shared<OneCycleLR>(o, OneCycleLROptions{.max_lr = 1, .total_steps = 12}); }},
      {"Sequential",
       [](Optimizer& o) {
         return std::make_shared<SequentialLR>(
             o,
             std::vector<std::shared_ptr<EpochLRScheduler>>{std::make_shared<LinearLR>(o, 0.1, 1.0, 3),
                                                            std::make_shared<CosineAnnealingLR>(o, 5)},
             std::vector<int64_t>{3});
       }},
      {"Chained",
       [](Optimizer& o) {
         return std::make_shared<ChainedScheduler>(std::vector<std::shared_ptr<LRScheduler>>{
             std::make_shared<ExponentialLR>(o, 0.8), std::make_shared<CosineAnnealingLR>(o, 4)});
       }},
  };
  for (const auto& [name, make] : makers) {
    const auto whole = run(make, 10, -1);
    for (int split : {1, 4, 7}) EXPECT_EQ(run(make, 10, split), whole) << name << " split at " << split;
  }
}

TEST(Scheduler, PlateauStateRoundTrip) {
  auto run_plateau = [](int split) {
    Tensor p = zeros({1}).requires_grad_();
    auto opt = std::make_unique<SGD>(std::vector<Tensor>{p}, SGDOptions{.lr = 1.0});
    const ReduceLROnPlateauOptions o{
        .mode = "max", .factor = 0.5, .patience = 1, .threshold_mode = "abs", .cooldown = 1};
    auto s = std::make_unique<ReduceLROnPlateau>(*opt, o);
    const std::vector<double> metrics = {1, 2, 2, 2, 2, 3, 3, 3, 3, 3};
    std::vector<double> out;
    for (size_t i = 0; i < metrics.size(); ++i) {
      if (int(i) == split) {
        const std::string sp = (std::filesystem::temp_directory_path() / "xgrad_test_plateau.json").string();
        s->state_dict().save(sp);  // at split 0 best is -inf: must survive JSON
        const auto osd = opt->state_dict();
        Tensor p2 = zeros({1}).requires_grad_();
        opt = std::make_unique<SGD>(std::vector<Tensor>{p2}, SGDOptions{.lr = 1.0});
        opt->load_state_dict(osd);
        s = std::make_unique<ReduceLROnPlateau>(*opt, o);
        s->load_state_dict(SchedulerState::load(sp));
        std::remove(sp.c_str());
      }
      s->step(metrics[i]);
      out.push_back(opt->lr(0));
    }
    return out;
  };
  const auto whole = run_plateau(-1);
  EXPECT_LT(whole.back(), 1.0);  // it did reduce
  for (int split : {0, 3, 6}) EXPECT_EQ(run_plateau(split), whole) << split;
}

TEST(Scheduler, StateErrors) {
  Fixture f;
  StepLR s(f.opt, 2);
  ExponentialLR e(f.opt, 0.5);
  EXPECT_THROW(s.load_state_dict(e.state_dict()), ValueError);
  EXPECT_THROW(SchedulerState::load("/nonexistent/dir/state.json"), IOError);
}

TEST(Scheduler, BadArguments) {
  Fixture f;
  EXPECT_THROW(StepLR(f.opt, 0), ValueError);
  EXPECT_THROW(CosineAnnealingLR(f.opt, 0), ValueError);
  EXPECT_THROW(LinearLR(f.opt, 0.0), ValueError);
  EXPECT_THROW(LinearLR(f.opt, 0.5, 1.5), ValueError);
  EXPECT_THROW(OneCycleLR(f.opt, OneCycleLROptions{}), ValueError);  // no total steps
  EXPECT_THROW(OneCycleLR(f.opt, OneCycleLROptions{.total_steps = 5, .anneal_strategy = "cosine"}), ValueError);
  EXPECT_THROW(OneCycleLR(f.opt, OneCycleLROptions{.total_steps = 5, .pct_start = 1.5}), ValueError);
}

}  // namespace
