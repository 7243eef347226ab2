/// Optimizers: the update rules against a plain double-precision reference, parameter groups,
/// skipped parameters, state dicts (bitwise resume, save/load), and hyper-parameter errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "xgrad/optim.h"
#include "xgrad/xgrad.h"

namespace {

using namespace xg;
using namespace xg::optim;

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("xgrad_test_optim_" + name)).string();
}

/// Element-by-element reference of the PyTorch 1.13 update rules, in double.
struct Ref {
  std::string kind;
  HParams h;
  std::vector<double> p{}, a{}, b{}, c{};  // parameter, then state buffers by optimizer
  int64_t k = 0;

  void step(const std::vector<double>& grad) {
    ++k;
    const size_t n = p.size();
    auto hp = [&](const char* name) { return h.count(name) ? h.at(name) : 0.0; };
    const double lr = hp("lr"), wd = hp("weight_decay"), mom = hp("momentum"), damp = hp("dampening"), b1 = hp("beta1"),
                 b2 = hp("beta2"), eps = hp("eps"), alpha = hp("alpha"), lr_decay = hp("lr_decay");
    const bool nesterov = hp("nesterov") != 0, amsgrad = hp("amsgrad") != 0, centered = hp("centered") != 0;
    if (a.empty()) {
      a.assign(n, hp("initial_accumulator_value"));
      b.assign(n, 0.0);
      c.assign(n, 0.0);
    }
    for (size_t i = 0; i < n; ++i) {
      double g = grad[i];
      if (kind == "SGD") {
        if (wd != 0) g += wd * p[i];
        if (mom != 0) {
          a[i] = k == 1 ? g : mom * a[i] + (1 - damp) * g;
          g = nesterov ? g + mom * a[i] : a[i];
        }
        p[i] -= lr * g;
      } else if (kind == "Adam" || kind == "AdamW") {
        if (kind == "AdamW")
          p[i] *= 1 - lr * wd;
        else if (wd != 0)
          g += wd * p[i];
        a[i] = b1 * a[i] + (1 - b1) * g;
        b[i] = b2 * b[i] + (1 - b2) * g * g;
        double v = b[i];
        if (amsgrad) v = c[i] = std::max(c[i], b[i]);
        const double bc1 = 1 - std::pow(b1, double(k)), bc2 = 1 - std::pow(b2, double(k));
        p[i] -= lr / bc1 * a[i] / (std::sqrt(v) / std::sqrt(bc2) + eps);
      } else if (kind == "RMSprop") {
        if (wd != 0) g += wd * p[i];
        a[i] = alpha * a[i] + (1 - alpha) * g * g;
        double avg;
        if (centered) {
          b[i] = alpha * b[i] + (1 - alpha) * g;
          avg = std::sqrt(a[i] - b[i] * b[i]) + eps;
        } else {
          avg = std::sqrt(a[i]) + eps;
        }
        if (mom > 0) {
          c[i] = mom * c[i] + g / avg;
          p[i] -= lr * c[i];
        } else {
          p[i] -= lr * g / avg;
        }
      } else {  // Adagrad
        if (wd != 0) g += wd * p[i];
        const double clr = lr / (1 + double(k - 1) * lr_decay);
        a[i] += g * g;
        p[i] -= clr * g / (std::sqrt(a[i]) + eps);
      }
    }
  }
};

using Factory = std::function<std::unique_ptr<Optimizer>(std::vector<Tensor>)>;

struct Config {
  std::string label;
  Factory make;
};

std::vector<Config> configs() {
  return {
      {"SGD_plain", [](auto p) { return std::make_unique<SGD>(p, SGDOptions{.lr = 0.1}); }},
      {"SGD_momentum_dampening_wd",
       [](auto p) {
         return std::make_unique<SGD>(p,
                                      SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.3, .weight_decay = 0.01});
       }},
      {"SGD_nesterov",
       [](auto p) { return std::make_unique<SGD>(p, SGDOptions{.lr = 0.05, .momentum = 0.8, .nesterov = true}); }},
      {"Adam_default", [](auto p) { return std::make_unique<Adam>(p, AdamOptions{.lr = 0.01}); }},
      {"Adam_amsgrad_wd",
       [](auto p) {
         return std::make_unique<Adam>(
             p, AdamOptions{.lr = 0.01, .betas = {0.8, 0.99}, .eps = 1e-3, .weight_decay = 0.1, .amsgrad = true});
       }},
      {"AdamW_default", [](auto p) { return std::make_unique<AdamW>(p, AdamWOptions{.lr = 0.01}); }},
      {"AdamW_amsgrad",
       [](auto p) {
         return std::make_unique<AdamW>(p, AdamWOptions{.lr = 0.02, .weight_decay = 0.1, .amsgrad = true});
       }},
      {"RMSprop_default", [](auto p) { return std::make_unique<RMSprop>(p, RMSpropOptions{.lr = 0.01}); }},
      {"RMSprop_centered_momentum_wd",
       [](auto p) {
         return std::make_unique<RMSprop>(
             p, RMSpropOptions{
                    .lr = 0.01, .alpha = 0.9, .eps = 1e-2, .weight_decay = 0.01, .momentum = 0.9, .centered = true});
       }},
      {"RMSprop_centered", [](auto p) { return std::make_unique<RMSprop>(p, RMSpropOptions{.centered = true}); }},
      {"Adagrad_default", [](auto p) { return std::make_unique<Adagrad>(p, AdagradOptions{.lr = 0.1}); }},
      {"Adagrad_decay",
       [](auto p) {
         return std::make_unique<Adagrad>(
             p, AdagradOptions{.lr = 0.1, .lr_decay = 0.1, .weight_decay = 0.01, .initial_accumulator_value = 0.1});
       }},
  };
}

/// Runs every optimizer variant on float64 parameters (a size with a SIMD tail, and one above the
/// parallel grain) and compares with the double reference: the fused kernels must be the formulas.
TEST(Optim, MatchesReferenceInFloat64) {
  for (const auto& cfg : configs()) {
    for (int64_t n : {37, 40000}) {
      manual_seed(3);
      Tensor p = randn({n}, kFloat64).requires_grad_();
      auto opt = cfg.make({p});
      Ref ref{.kind = opt->name(), .h = opt->hparams(0), .p = p.to_vector<double>()};
      for (int step = 0; step < 4; ++step) {
        Tensor g = randn({n}, kFloat64);
        p.set_grad(g);
        opt->step();
        ref.step(g.to_vector<double>());
      }
      const auto got = p.to_vector<double>();
      double worst = 0;
      for (int64_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(got[size_t(i)] - ref.p[size_t(i)]));
      EXPECT_LT(worst, 1e-12) << cfg.label << " n=" << n;
      EXPECT_EQ(opt->state(p)->step, 4) << cfg.label;
    }
  }
}

TEST(Optim, Float32CloseToReference) {
  for (const auto& cfg : configs()) {
    manual_seed(4);
    Tensor p = randn({1000}).requires_grad_();
    auto opt = cfg.make({p});
    Ref ref{.kind = opt->name(), .h = opt->hparams(0), .p = p.to_vector<double>()};
    for (int step = 0; step < 3; ++step) {
      Tensor g = randn({1000});
      p.set_grad(g);
      opt->step();
      ref.step(g.to_vector<double>());
    }
    const auto got = p.to_vector<double>();
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], ref.p[i], 1e-5 * (1 + std::abs(ref.p[i]))) << cfg.label;
  }
}

TEST(Optim, PerGroupHyperParameters) {
  Tensor w = ones({2, 3}).requires_grad_(), b = ones({3}).requires_grad_();
  SGD opt({ParamGroup<SGDOptions>{{w}}, ParamGroup{std::vector<Tensor>{b}, SGDOptions{.lr = 0.5}}},
          SGDOptions{.lr = 0.1, .weight_decay = 1.0});
  ASSERT_EQ(opt.num_param_groups(), 2u);
  EXPECT_DOUBLE_EQ(opt.lr(0), 0.1);
  EXPECT_DOUBLE_EQ(opt.lr(1), 0.5);
  EXPECT_DOUBLE_EQ(opt.hparam(0, "weight_decay"), 1.0);
  EXPECT_DOUBLE_EQ(opt.hparam(1, "weight_decay"), 0.0);  // the group's own options, not the defaults
  w.set_grad(full({2, 3}, 2.0));
  b.set_grad(full({3}, 2.0));
  opt.step();
  for (double v : w.to_vector<double>()) EXPECT_FLOAT_EQ(float(v), 1.0f - 0.1f * (2.0f + 1.0f));
  for (double v : b.to_vector<double>()) EXPECT_FLOAT_EQ(float(v), 1.0f - 0.5f * 2.0f);

  // Options edited through options() apply at the next step; add_param_group uses the defaults.
  opt.options(1).lr = 0.25;
  Tensor extra = zeros({2}).requires_grad_();
  opt.add_param_group({extra});
  EXPECT_DOUBLE_EQ(opt.lr(2), 0.1);
  b.set_grad(ones({3}));
  extra.set_grad(ones({2}));
  w.zero_grad();
  opt.step();
  for (double v : b.to_vector<double>()) EXPECT_FLOAT_EQ(float(v), 0.0f - 0.25f);
  for (double v : extra.to_vector<double>()) EXPECT_FLOAT_EQ(float(v), -0.1f);
  EXPECT_EQ(opt.parameters().size(), 3u);
}

TEST(Optim, ParameterWithoutGradientIsSkipped) {
  Tensor a = ones({4}).requires_grad_(), b = ones({4}).requires_grad_();
  Adam opt({a, b}, AdamOptions{.lr = 0.1});
  a.set_grad(ones({4}));
  opt.step();
  opt.step();
  EXPECT_EQ(b.to_vector<double>(), std::vector<double>(4, 1.0));
  EXPECT_EQ(opt.state(b), nullptr);
  ASSERT_NE(opt.state(a), nullptr);
  EXPECT_EQ(opt.state(a)->step, 2);
  b.set_grad(ones({4}));
  opt.step();
  EXPECT_EQ(opt.state(b)->step, 1);  // its own count: Adam's first step moves by lr·sign(g)
  for (double v : b.to_vector<double>()) EXPECT_NEAR(v, 0.9, 1e-6);
}

TEST(Optim, ZeroGrad) {
  Tensor a = ones({3}).requires_grad_();
  SGD opt({a}, SGDOptions{.lr = 0.1});
  a.set_grad(ones({3}));
  opt.zero_grad(false);
  ASSERT_TRUE(a.grad().defined());
  EXPECT_EQ(a.grad().to_vector<double>(), std::vector<double>(3, 0.0));
  opt.zero_grad();
  EXPECT_FALSE(a.grad().defined());
}

TEST(Optim, WorksWithBackwardAndNonContiguousParameters) {
  // A leaf viewing transposed memory is updated through a contiguous copy written back.
  Tensor base = arange(0.0, 6.0, 1.0).reshape({2, 3});
  Tensor pt = base.t();
  pt.requires_grad_();
  ASSERT_FALSE(pt.is_contiguous());
  Tensor pc = pt.contiguous().detach().requires_grad_();
  SGD a({pt}, SGDOptions{.lr = 0.1, .momentum = 0.9}), b({pc}, SGDOptions{.lr = 0.1, .momentum = 0.9});
  for (int i = 0; i < 2; ++i) {
    for (Tensor* p : {&pt, &pc}) {
      p->zero_grad();
      (*p * *p).sum().backward();
    }
    a.step();
    b.step();
  }
  EXPECT_EQ(pt.to_vector<double>(), pc.to_vector<double>());
}

TEST(Optim, ResultDoesNotDependOnThreadCount) {
  const int saved = get_num_threads();
  std::vector<std::vector<double>> results;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    manual_seed(9);
    Tensor p = randn({600000}).requires_grad_();  // above the updates' parallel grain
    Adam opt({p}, AdamOptions{.lr = 0.01, .amsgrad = true});
    for (int s = 0; s < 2; ++s) {
      p.set_grad(randn({600000}));
      opt.step();
    }
    results.push_back(p.to_vector<double>());
  }
  set_num_threads(saved);
  EXPECT_EQ(results[0], results[1]);
}

/// Threads split the fused kernels at multiples of the vector width: with a size whose halves are
/// not multiples of it, the vector and scalar paths (which may round differently) still take the
/// same elements. Large enough to take the parallel path.
TEST(Optim, ResultDoesNotDependOnThreadCountAtOddSizes) {
  const int saved = get_num_threads();
  const int64_t n = 600003;
  std::vector<std::vector<double>> results;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    manual_seed(9);
    Tensor p = randn({n}).requires_grad_(), q = randn({n}).requires_grad_();
    Adam a({p}, AdamOptions{.lr = 0.01, .weight_decay = 0.1});
    SGD b({q}, SGDOptions{.lr = 0.01, .momentum = 0.9, .nesterov = true});
    for (int s = 0; s < 2; ++s) {
      p.set_grad(randn({n}));
      q.set_grad(randn({n}));
      a.step();
      b.step();
    }
    results.push_back(p.to_vector<double>());
    for (double v : q.to_vector<double>()) results.back().push_back(v);
  }
  set_num_threads(saved);
  EXPECT_EQ(results[0], results[1]);
}

/// Trains n steps on a fresh parameter from fixed gradients; optionally checkpoints after `split`
/// steps (in memory or through a file) and continues in a new optimizer over a copy.
std::vector<double> train(const Config& cfg, int n, int split, bool via_file) {
  manual_seed(11);
  Tensor w = randn({5, 7}).requires_grad_(), b = randn({7}).requires_grad_();
  std::vector<Tensor> grads;
  for (int i = 0; i < 2 * n; ++i) grads.push_back(randn(i % 2 ? Shape{7} : Shape{5, 7}));
  auto opt = cfg.make({w, b});
  for (int s = 0; s < n; ++s) {
    if (s == split) {
      const OptimizerStateDict sd = opt->state_dict();
      Tensor w2 = w.detach().clone().requires_grad_(), b2 = b.detach().clone().requires_grad_();
      opt = cfg.make({w2, b2});
      if (via_file) {
        const std::string path = temp_path(cfg.label + ".safetensors");
        sd.save(path);
        opt->load(path);
        std::remove(path.c_str());
      } else {
        opt->load_state_dict(sd);
      }
      w = w2;
      b = b2;
    }
    w.set_grad(grads[size_t(2 * s)]);
    b.set_grad(grads[size_t(2 * s + 1)]);
    opt->step();
  }
  auto out = w.to_vector<double>();
  for (double v : b.to_vector<double>()) out.push_back(v);
  return out;
}

TEST(Optim, StateDictResumesBitwise) {
  for (const auto& cfg : configs()) {
    const auto uninterrupted = train(cfg, 6, -1, false);
    EXPECT_EQ(train(cfg, 6, 3, false), uninterrupted) << cfg.label << " (in memory)";
    EXPECT_EQ(train(cfg, 6, 3, true), uninterrupted) << cfg.label << " (through a file)";
  }
}

TEST(Optim, StateDictContents) {
  Tensor w = ones({2}).requires_grad_(), b = ones({3}).requires_grad_();
  Adam opt({ParamGroup<AdamOptions>{{w}}, ParamGroup{std::vector<Tensor>{b}, AdamOptions{.lr = 0.5, .amsgrad = true}}});
  b.set_grad(ones({3}));
  opt.step();
  const OptimizerStateDict sd = opt.state_dict();
  EXPECT_EQ(sd.optimizer, "Adam");
  ASSERT_EQ(sd.param_groups.size(), 2u);
  EXPECT_EQ(sd.param_groups[0].params, std::vector<int64_t>{0});
  EXPECT_EQ(sd.param_groups[1].params, std::vector<int64_t>{1});
  EXPECT_DOUBLE_EQ(sd.param_groups[1].hparams.at("lr"), 0.5);
  EXPECT_DOUBLE_EQ(sd.param_groups[1].hparams.at("amsgrad"), 1.0);
  EXPECT_DOUBLE_EQ(sd.param_groups[0].hparams.at("beta2"), 0.999);
  ASSERT_EQ(sd.state.size(), 1u);  // w never had a gradient
  const ParamState& s = sd.state.at(1);
  EXPECT_EQ(s.step, 1);
  EXPECT_EQ(s.buffers.size(), 3u);
  EXPECT_TRUE(s.buffers.count("exp_avg") && s.buffers.count("exp_avg_sq") && s.buffers.count("max_exp_avg_sq"));
  // A snapshot: stepping on does not change it.
  const double before = s.buffers.at("exp_avg").at({0});
  opt.step();
  EXPECT_EQ(sd.state.at(1).buffers.at("exp_avg").at({0}), before);
}

TEST(Optim, LoadStateDictErrors) {
  Tensor w = ones({2}).requires_grad_(), b = ones({3}).requires_grad_();
  Adam adam({w, b});
  w.set_grad(ones({2}));
  adam.step();
  const OptimizerStateDict sd = adam.state_dict();

  Tensor w2 = ones({2}).requires_grad_(), b2 = ones({3}).requires_grad_();
  SGD sgd({w2, b2});
  EXPECT_THROW(sgd.load_state_dict(sd), ValueError);  // another optimizer's state
  Adam fewer({w2});
  EXPECT_THROW(fewer.load_state_dict(sd), ValueError);  // group sizes differ
  Tensor w3 = ones({4}).requires_grad_(), b3 = ones({3}).requires_grad_();
  Adam shapes({w3, b3});
  EXPECT_THROW(shapes.load_state_dict(sd), ShapeError);
  EXPECT_EQ(shapes.state(w3), nullptr);  // a failed load changes nothing

  OptimizerStateDict bad = sd;
  bad.param_groups[0].hparams.erase("beta1");
  Adam adam2({w2, b2});
  EXPECT_THROW(adam2.load_state_dict(bad), ValueError);  // a missing hyper-parameter
  bad = sd;
  bad.param_groups[0].hparams["beta1"] = 1.5;
  adam2.load_state_dict(bad);  // loads; the value is checked when it is used
  w2.set_grad(ones({2}));
  EXPECT_THROW(adam2.step(), ValueError);

  EXPECT_THROW(OptimizerStateDict::load(temp_path("does_not_exist")), IOError);
  const std::string junk = temp_path("junk.safetensors");
  {
    FILE* f = std::fopen(junk.c_str(), "wb");
    std::fputs("not a safetensors file at all", f);
    std::fclose(f);
  }
  EXPECT_THROW(OptimizerStateDict::load(junk), IOError);
  std::remove(junk.c_str());
}

TEST(Optim, LoadCastsStateToParameterDtype) {
  Tensor w = ones({3}).requires_grad_();
  RMSprop a({w}, RMSpropOptions{.momentum = 0.5});
  w.set_grad(ones({3}));
  a.step();
  Tensor w64 = ones({3}, kFloat64).requires_grad_();
  RMSprop b({w64}, RMSpropOptions{.momentum = 0.5});
  b.load_state_dict(a.state_dict());
  EXPECT_EQ(b.state(w64)->buffers.at("square_avg").dtype(), kFloat64);
  w64.set_grad(ones({3}, kFloat64));
  b.step();
  EXPECT_EQ(b.state(w64)->step, 2);
}

template <class F>
void expect_value_error(F f, const std::vector<std::string>& words) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const ValueError& e) {
    for (const auto& w : words)
      EXPECT_NE(std::string(e.what()).find(w), std::string::npos) << e.what() << " lacks " << w;
  }
}

TEST(Optim, BadHyperParameters) {
  Tensor p = ones({2}).requires_grad_();
  expect_value_error([&] { SGD({p}, SGDOptions{.lr = -0.1}); }, {"SGD", "learning rate", "-0.1"});
  expect_value_error([&] { SGD({p}, SGDOptions{.momentum = -0.5}); }, {"SGD", "momentum", "-0.5"});
  expect_value_error([&] { SGD({p}, SGDOptions{.weight_decay = -1}); }, {"SGD", "weight_decay", "-1"});
  expect_value_error([&] { SGD({p}, SGDOptions{.nesterov = true}); }, {"SGD", "Nesterov"});
  expect_value_error([&] { SGD({p}, SGDOptions{.momentum = 0.9, .dampening = 0.1, .nesterov = true}); },
                     {"SGD", "dampening", "0.1"});
  expect_value_error([&] { Adam({p}, AdamOptions{.lr = -1e-3}); }, {"Adam", "learning rate", "-0.001"});
  expect_value_error([&] { Adam({p}, AdamOptions{.betas = {1.0, 0.999}}); }, {"Adam", "beta", "index 0", "1"});
  expect_value_error([&] { Adam({p}, AdamOptions{.betas = {0.9, -0.1}}); }, {"Adam", "index 1", "-0.1"});
  expect_value_error([&] { Adam({p}, AdamOptions{.eps = -1e-8}); }, {"Adam", "epsilon", "-1e-08"});
  expect_value_error([&] { AdamW({p}, AdamWOptions{.weight_decay = -0.01}); }, {"AdamW", "weight_decay", "-0.01"});
  expect_value_error([&] { RMSprop({p}, RMSpropOptions{.alpha = -0.9}); }, {"RMSprop", "alpha", "-0.9"});
  expect_value_error([&] { RMSprop({p}, RMSpropOptions{.momentum = -1}); }, {"RMSprop", "momentum"});
  expect_value_error([&] { Adagrad({p}, AdagradOptions{.lr_decay = -1}); }, {"Adagrad", "lr_decay", "-1"});
  expect_value_error([&] { Adagrad({p}, AdagradOptions{.initial_accumulator_value = -2}); },
                     {"Adagrad", "initial_accumulator_value", "-2"});
  expect_value_error([&] { Adam({p}, AdamOptions{.lr = std::nan("")}); }, {"Adam", "learning rate", "nan"});
  // A bad group's options, and options made bad after construction (checked at step).
  expect_value_error([&] { SGD({ParamGroup{std::vector<Tensor>{p}, SGDOptions{.lr = -2}}}); }, {"SGD", "-2"});
  SGD ok({p});
  ok.options(0).lr = -3;
  p.set_grad(ones({2}));
  expect_value_error([&] { ok.step(); }, {"SGD", "-3"});
  expect_value_error(
      [&] {
        Adam opt({p});
        opt.set_hparam(0, "beta2", 2.0);
        opt.step();
      },
      {"Adam", "beta", "2"});
}

TEST(Optim, BadParameters) {
  Tensor p = ones({2}).requires_grad_();
  EXPECT_THROW(SGD(std::vector<Tensor>{}), ValueError);
  EXPECT_THROW(SGD({p, p}), ValueError);
  SGD opt({p});
  EXPECT_THROW(opt.add_param_group({p}), ValueError);  // already in group 0
  EXPECT_THROW(SGD({arange(3)}), DTypeError);
  Tensor nonleaf = p * 2.0;
  EXPECT_THROW(SGD({nonleaf}), ValueError);
  EXPECT_THROW(SGD({Tensor()}), ValueError);
  p.set_grad(ones({2}, kFloat64));
  EXPECT_THROW(opt.step(), DTypeError);
  EXPECT_THROW(opt.hparam(0, "no_such"), ValueError);
  EXPECT_THROW(opt.params(5), IndexError);
}

TEST(Optim, StepWithClosure) {
  Tensor x = full({1}, 3.0).requires_grad_();
  SGD opt({x}, SGDOptions{.lr = 0.25});
  const Tensor loss = opt.step([&] {
    opt.zero_grad();
    Tensor l = (x * x).sum();
    l.backward();
    return l;
  });
  EXPECT_DOUBLE_EQ(loss.item(), 9.0);
  EXPECT_DOUBLE_EQ(x.item(), 3.0 - 0.25 * 6.0);
}

}  // namespace
