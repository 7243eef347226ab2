#pragma once
/// The ONNX graph under construction: names for the tensors the trace saw, initializers for
/// parameters, buffers and constants, and one helper per node kind. Private to the onnx layer.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "xgrad/nn/module.h"
#include "xgrad/ops/registry.h"
#include "xgrad/tape.h"
#include "xgrad/tensor.h"

namespace xg::onnx_export {

/// One op the trace recorded: the tape node (its attributes), the tensors it read and wrote, and
/// the dotted path of the module whose forward ran it. A recurrent module's whole forward is one
/// entry with no node: `module` is the layer, exported as ONNX's LSTM, GRU or RNN.
struct TracedOp {
  std::shared_ptr<autograd::Node> node;
  std::string name;
  std::vector<Tensor> inputs, outputs;
  std::string module_path;
  std::shared_ptr<nn::Module> module = nullptr;
};

/// ONNX's element type for an xgrad dtype.
int32_t onnx_type(DType dt);

class GraphBuilder {
 public:
  GraphBuilder(::onnx::GraphProto& graph, int64_t opset) : graph_(graph), opset_(opset) {}

  /// Names t as a parameter or buffer initializer (added when first used).
  void add_named(const Tensor& t, const std::string& name);
  /// Names t as a graph input.
  void add_input(const Tensor& t, const std::string& name);
  /// The value name of t as an op input: what produced it, its parameter or buffer, else a constant.
  std::string value(const Tensor& t);
  /// Makes `name` the value of t from now on (an op's output).
  void bind(const Tensor& t, const std::string& name) {
    keep_.push_back(t);
    names_[t.impl()] = name;
  }
  /// A fresh value name.
  std::string fresh(const std::string& hint = "v") { return hint + "_" + std::to_string(next_++); }
  /// A node; returns it for attributes.
  ::onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs);
  /// A node with one fresh output, whose name it returns.
  std::string op1(const std::string& op, const std::vector<std::string>& inputs, ::onnx::NodeProto** out = nullptr);
  /// Constant initializers.
  std::string const_tensor(const Tensor& t);
  std::string const_ints(const std::vector<int64_t>& v, bool scalar = false);
  std::string const_reals(const std::vector<double>& v, DType dt, const Shape& shape);
  std::string const_scalar(double v, DType dt) { return const_reals({v}, dt, {}); }
  /// t's value converted to dt (a Cast node when the dtypes differ).
  std::string value_as(const Tensor& t, DType dt);

  int64_t opset() const { return opset_; }
  const std::string& graph_input_name(size_t i) const { return input_names_[i]; }
  bool is_graph_input(const std::string& n) const;
  bool produced_by_node(const std::string& n) const;
  ::onnx::GraphProto& graph() { return graph_; }
  /// A parameter or buffer by dotted name (nullptr: none).
  const Tensor* named_tensor(const std::string& name) const;
  /// Dim 0 of inputs and outputs is symbolic: shape constants keep it free.
  bool dynamic_batch = false;
  /// Each op output's value name and traced tensor, in graph order.
  std::vector<std::pair<std::string, Tensor>> traced_values;
  /// The op being emitted (for error messages).
  const TracedOp* current = nullptr;

 private:
  ::onnx::GraphProto& graph_;
  int64_t opset_;
  std::unordered_map<const TensorImpl*, std::string> names_;
  /// Parameters and buffers: impl → dotted name; and by storage and geometry, for aliases of them.
  std::unordered_map<const TensorImpl*, std::string> named_;
  std::vector<Tensor> named_tensors_;
  std::vector<std::string> input_names_, emitted_named_;
  std::vector<Tensor> keep_;
  std::vector<std::string> produced_;
  int64_t next_ = 0;
};

/// A graph input, output or value_info: t's element type and shape (dim 0 "batch" when dynamic).
void set_value_info(::onnx::ValueInfoProto& v, const Tensor& t, const std::string& name, bool dynamic_batch);

/// Attribute helpers.
void set_attr(::onnx::NodeProto& n, const std::string& name, int64_t v);
void set_attr(::onnx::NodeProto& n, const std::string& name, double v);
void set_attr(::onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v);
void set_attr(::onnx::NodeProto& n, const std::string& name, const std::string& v);
void set_attr(::onnx::NodeProto& n, const std::string& name, const std::vector<std::string>& v);

/// The attributes an op node describes (empty when it describes none).
ops::NamedAttrs attributes_of(const autograd::Node& node);
/// Finds attribute `name`; nullptr when absent.
const ops::Attr* find_attr(const ops::NamedAttrs& attrs, const std::string& name);

/// Emits the ONNX nodes of one traced op; throws xg::Error naming the op and module path when it
/// has no ONNX form.
void emit_op(GraphBuilder& b, const TracedOp& op);

}  // namespace xg::onnx_export
