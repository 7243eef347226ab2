/// LR scheduler state files (JSON): SchedulerState::load, then loading the state into a scheduler
/// of the kind it names and stepping it a few times.
#include <memory>

#include "tests/fuzz/fuzz_util.h"
#include "xgrad/optim.h"
#include "xgrad/tensor.h"

namespace {

using namespace xg::optim;

std::shared_ptr<EpochLRScheduler> make_epoch(const std::string& kind, Optimizer& o) {
  if (kind == "StepLR") return std::make_shared<StepLR>(o, 2, 0.5);
  if (kind == "MultiStepLR") return std::make_shared<MultiStepLR>(o, std::vector<int64_t>{1, 4}, 0.5);
  if (kind == "ExponentialLR") return std::make_shared<ExponentialLR>(o, 0.9);
  if (kind == "CosineAnnealingLR") return std::make_shared<CosineAnnealingLR>(o, 5, 0.01);
  if (kind == "LinearLR") return std::make_shared<LinearLR>(o, 0.2, 1.0, 5);
  if (kind == "OneCycleLR") return std::make_shared<OneCycleLR>(o, OneCycleLROptions{.max_lr = 1, .total_steps = 12});
  return nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xg;
  const auto path = fuzz::write_input("scheduler.json", data, size);
  SchedulerState st;
  try {
    st = SchedulerState::load(path.string());
  } catch (const IOError&) {
    return 0;
  }
  Tensor p = zeros({2}).requires_grad_();
  SGD opt({p}, SGDOptions{.lr = 0.1, .momentum = 0.9});
  fuzz::refusal_ok([&] {
    if (st.kind == "ReduceLROnPlateau") {
      ReduceLROnPlateau s(opt, {.patience = 1});
      s.load_state_dict(st);
      for (double m : {1.0, 2.0, 3.0}) s.step(m);
      return;
    }
    std::shared_ptr<LRScheduler> s;
    if (st.kind == "SequentialLR") {
      s = std::make_shared<SequentialLR>(
          opt, std::vector<std::shared_ptr<EpochLRScheduler>>{make_epoch("LinearLR", opt), make_epoch("StepLR", opt)},
          std::vector<int64_t>{3});
    } else if (st.kind == "ChainedScheduler") {
      s = std::make_shared<ChainedScheduler>(
          std::vector<std::shared_ptr<LRScheduler>>{make_epoch("ExponentialLR", opt), make_epoch("StepLR", opt)});
    } else {
      s = make_epoch(st.kind, opt);
    }
    if (!s) return;
    s->load_state_dict(st);
    for (int i = 0; i < 3; ++i) {
      p.set_grad(ones({2}));
      opt.step();
      s->step();
    }
  });
  return 0;
}
