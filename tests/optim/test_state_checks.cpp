// Optimizer and scheduler states are range-checked when loaded: a state file is input like any
// other, and a wrong step count silently turned every weight into NaN (issue #20).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>

#include "xgrad/optim.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::optim;

namespace {

std::string temp_file(const std::string& name) {
  return (std::filesystem::temp_directory_path() / fmt::format("xgrad_state_{}_{}", ::getpid(), name)).string();
}

bool all_finite(const Tensor& t) {
  for (double v : t.to_vector<double>())
    if (!std::isfinite(v)) return false;
  return true;
}

/// An Adam optimizer over one parameter, stepped once, and its state dict.
struct Stepped {
  Tensor w = ones({3}).requires_grad_();
  Adam opt{{w}};
  OptimizerStateDict sd;
  Stepped() {
    w.set_grad(full({3}, 0.5));
    opt.step();
    sd = opt.state_dict();
  }
};

}  // namespace

TEST(StateChecks, NegativeStepIsRefused) {
  Stepped s;
  OptimizerStateDict bad = s.sd;
  bad.state.at(0).step = -1;
  // Through a file, as the finding: the state loaded, and the next step divided by 1 - beta^0 = 0.
  const std::string path = temp_file("adam.safetensors");
  bad.save(path);
  Tensor w = ones({3}).requires_grad_();
  Adam fresh({w});
  EXPECT_THROW(fresh.load(path), Error);
  std::filesystem::remove(path);
  w.set_grad(full({3}, 0.5));
  fresh.step();
  EXPECT_TRUE(all_finite(w)) << w.to_string();
  // In memory too; a failed load changes nothing.
  EXPECT_THROW(fresh.load_state_dict(bad), ValueError);
  bad.state.at(0).step = std::numeric_limits<int64_t>::max();  // ++ would overflow
  EXPECT_THROW(fresh.load_state_dict(bad), ValueError);
  EXPECT_EQ(fresh.state(w)->step, 1);
}

TEST(StateChecks, BuffersMustBeFiniteAndSquaresNonNegative) {
  Stepped s;
  Tensor w = ones({3}).requires_grad_();
  Adam fresh({w});
  OptimizerStateDict bad = s.sd;
  bad.state.at(0).buffers.at("exp_avg_sq") = full({3}, -1.0);  // sqrt of a negative: NaN
  EXPECT_THROW(fresh.load_state_dict(bad), ValueError);
  bad = s.sd;
  bad.state.at(0).buffers.at("exp_avg") = full({3}, std::numeric_limits<double>::quiet_NaN());
  EXPECT_THROW(fresh.load_state_dict(bad), ValueError);
  bad = s.sd;
  bad.param_groups[0].hparams["lr"] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(fresh.load_state_dict(bad), ValueError);
  fresh.load_state_dict(s.sd);  // the good one loads
  EXPECT_EQ(fresh.state(w)->step, 1);
}

TEST(StateChecks, SchedulerCountersAreRangeChecked) {
  Tensor p = zeros({1}).requires_grad_();
  SGD opt({p}, SGDOptions{.lr = 1.0});
  StepLR step(opt, 2, 0.5);
  const SchedulerState good = step.state_dict();
  for (double v : {1e300, -5.0, 2.5, std::numeric_limits<double>::quiet_NaN()}) {
    SchedulerState bad = good;
    bad.values["last_epoch"] = v;  // the conversion of 1e300 or NaN to int64 was undefined
    EXPECT_THROW(step.load_state_dict(bad), ValueError) << v;
  }
  SchedulerState bad = good;
  bad.lists["base_lrs"] = {std::numeric_limits<double>::infinity()};
  EXPECT_THROW(step.load_state_dict(bad), ValueError);
  step.load_state_dict(good);

  ReduceLROnPlateau plateau(opt);
  const SchedulerState pgood = plateau.state_dict();
  SchedulerState pbad = pgood;
  pbad.values["num_bad_epochs"] = -3;
  EXPECT_THROW(plateau.load_state_dict(pbad), ValueError);
  pbad = pgood;
  pbad.values["best"] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(plateau.load_state_dict(pbad), ValueError);
  plateau.load_state_dict(pgood);  // best = +inf is fine
}
