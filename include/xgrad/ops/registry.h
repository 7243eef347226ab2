#pragma once
/// The registry of ops defined with ops::OpDef (src/ops/op.h): each op's name, its arguments by
/// PyTorch's names and a call that takes them in order. The conformance runner calls ops through it
/// by the names in the reference cases, and tests/ops/test_op_registry.cpp checks every entry's
/// gradient, double gradient and fused backward from it, so an op brings its checks with it.
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "xgrad/tape.h"
#include "xgrad/tensor.h"

namespace xg::ops {

/// A non-tensor argument: absent (None), bool, integer, real, text, a list of integers or of reals.
using Attr =
    std::variant<std::monostate, bool, int64_t, double, std::string, std::vector<int64_t>, std::vector<double>>;

/// A recorded op's attributes by name, for tools that read the tape (the ONNX exporter).
using NamedAttrs = std::vector<std::pair<std::string, Attr>>;

/// The tape nodes of ops whose attributes can be read back: OpDef's nodes, whose attributes struct
/// lists its fields (`NamedAttrs fields() const`). A Node itself (one base, one vtable: a node is
/// made per op, so it stays as small as a plain one).
class DescribedNode : public autograd::Node {
 public:
  virtual NamedAttrs attributes() const = 0;
};

struct OpInfo {
  std::string name;
  /// Tensor arguments, then the other arguments, by PyTorch's names ("input", "other").
  std::vector<std::string> inputs, attrs;
  /// Calls the op: tensors and attributes in the order above.
  std::function<std::vector<Tensor>(const std::vector<Tensor>& inputs, const std::vector<Attr>& attrs)> call;
  /// Attributes, an input range (where the op is smooth) and input shapes for generated checks;
  /// no shapes: [3, 4] for the first input and [4] for the others (so binary ops broadcast).
  std::vector<Attr> sample_attrs;
  double lo = -2.0, hi = 2.0;
  std::vector<Shape> sample_shapes;
  /// Whether the plain backward runs a fused kernel beside the differentiable formula.
  bool fused = false;
};

/// Every registered op, in registration order.
const std::vector<OpInfo>& registered_ops();
/// The op of that name, or nullptr.
const OpInfo* find_op(std::string_view name);

/// Adds an op at load time (each op file registers its own).
struct RegisterOp {
  explicit RegisterOp(OpInfo info);
};

}  // namespace xg::ops
