/// Optimizer state files: OptimizerStateDict::load, then loading the state into an optimizer of
/// the kind it names (over two parameters) and stepping it: refused with an xg::Error, or it
/// steps, and nothing else (no crash, no undefined behaviour, no unbounded allocation).
#include <memory>

#include "tests/fuzz/fuzz_util.h"
#include "xgrad/optim.h"
#include "xgrad/tensor.h"

namespace {

std::unique_ptr<xg::optim::Optimizer> make(const std::string& kind, const std::vector<xg::Tensor>& p) {
  using namespace xg::optim;
  if (kind == "SGD") return std::make_unique<SGD>(p, SGDOptions{.lr = 0.1, .momentum = 0.9});
  if (kind == "Adam") return std::make_unique<Adam>(p);
  if (kind == "AdamW") return std::make_unique<AdamW>(p);
  if (kind == "RMSprop") return std::make_unique<RMSprop>(p);
  if (kind == "Adagrad") return std::make_unique<Adagrad>(p);
  return nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xg;
  const auto path = fuzz::write_input("state.safetensors", data, size);
  optim::OptimizerStateDict sd;
  try {
    sd = optim::OptimizerStateDict::load(path.string());
  } catch (const IOError&) {
    return 0;
  }
  std::vector<Tensor> params = {ones({3}).requires_grad_(), ones({2, 2}, kFloat64).requires_grad_()};
  auto opt = make(sd.optimizer, params);
  if (!opt) return 0;
  fuzz::refusal_ok([&] {
    opt->load_state_dict(sd);
    for (Tensor& p : params) p.set_grad(full_like(p, 0.25));
    opt->step();
  });
  return 0;
}
