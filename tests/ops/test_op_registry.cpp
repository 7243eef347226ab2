/// Checks generated from the op registry (xgrad/ops/registry.h): every op defined with ops::OpDef
/// gets its gradient and double gradient checked against finite differences, and every op with a
/// fused backward kernel gets that kernel compared with its differentiable formula. A new op is
/// covered here by being registered.
#include <gtest/gtest.h>

#include "xgrad/autograd.h"
#include "xgrad/ops/registry.h"
#include "xgrad/xgrad.h"

namespace xg {
namespace {

/// Inputs in the op's range, of its sample shapes (by default the first [3, 4], the others [4], so
/// binary ops broadcast).
std::vector<Tensor> sample_inputs(const ops::OpInfo& op, uint64_t seed) {
  manual_seed(seed);
  std::vector<Tensor> ins;
  for (size_t i = 0; i < op.inputs.size(); ++i) {
    const Shape s = i < op.sample_shapes.size() ? op.sample_shapes[i] : i == 0 ? Shape{3, 4} : Shape{4};
    ins.push_back((rand(s, kFloat64) * (op.hi - op.lo) + op.lo).requires_grad_());
  }
  return ins;
}

Tensor call(const ops::OpInfo& op, const std::vector<Tensor>& ins) { return op.call(ins, op.sample_attrs).at(0); }

TEST(OpRegistry, HoldsTheOpsDefinedWithOpDef) {
  for (const char* name : {"add", "mul", "sigmoid", "tanh", "relu", "exp", "gelu", "scaled_dot_product_attention"})
    EXPECT_NE(ops::find_op(name), nullptr) << name;
  EXPECT_EQ(ops::find_op("no_such_op"), nullptr);
}

TEST(OpRegistry, EveryOpPassesGradcheckAndGradgradcheck) {
  for (const ops::OpInfo& op : ops::registered_ops()) {
    SCOPED_TRACE(op.name);
    const std::vector<Tensor> ins = sample_inputs(op, 1);
    const auto fn = [&op](const std::vector<Tensor>& xs) { return call(op, xs); };
    EXPECT_TRUE(autograd::gradcheck(fn, ins, 1e-6, 1e-5, 1e-3, false).ok) << op.name << ": gradient";
    EXPECT_TRUE(autograd::gradgradcheck(fn, ins, 1e-6, 1e-5, 1e-3, false).ok) << op.name << ": double gradient";
  }
}

TEST(OpRegistry, FusedBackwardMatchesTheFormula) {
  int checked = 0;
  for (const ops::OpInfo& op : ops::registered_ops()) {
    if (!op.fused) continue;
    SCOPED_TRACE(op.name);
    for (DType dt : {kFloat32, kFloat64}) {
      std::vector<Tensor> ins = sample_inputs(op, 2);
      for (Tensor& t : ins) t = t.detach().to(dt).requires_grad_();
      const Tensor y = call(op, ins);
      const Tensor gy = randn(y.shape(), dt);
      // Without create_graph the backward runs the fused kernel; with it, the formula.
      const std::vector<Tensor> fused = autograd::grad({y}, ins, {gy}, true, false);
      const std::vector<Tensor> formula = autograd::grad({y}, ins, {gy}, false, true);
      ASSERT_EQ(fused.size(), formula.size());
      for (size_t i = 0; i < fused.size(); ++i) {
        const double tol = dt == kFloat32 ? 1e-6 : 1e-14;
        EXPECT_TRUE(allclose(fused[i], formula[i].detach(), tol, tol)) << op.name << " input " << i;
      }
    }
    ++checked;
  }
  EXPECT_GE(checked, 3);
}

}  // namespace
}  // namespace xg
