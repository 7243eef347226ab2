/// GraphBuilder: value names, initializers and nodes of the ONNX graph being exported.
#include "onnx/builder.h"

#include <algorithm>
#include <cstring>

#include "xgrad/error.h"

namespace xg::onnx_export {

int32_t onnx_type(DType dt) {
  switch (dt) {
    case kFloat32:
      return ::onnx::TensorProto::FLOAT;
    case kFloat64:
      return ::onnx::TensorProto::DOUBLE;
    case kInt64:
      return ::onnx::TensorProto::INT64;
    case kBool:
      return ::onnx::TensorProto::BOOL;
    case kFloat16:
      return ::onnx::TensorProto::FLOAT16;
    case kBFloat16:
      return ::onnx::TensorProto::BFLOAT16;
  }
  fail<DTypeError>("onnx export: dtype {} has no ONNX element type", dtype_name(dt));
}

namespace {
/// Fills an initializer with t's elements (contiguous, in t's dtype) as raw little-endian data.
void fill_tensor(::onnx::TensorProto& p, const Tensor& t, const std::string& name) {
  p.set_name(name);
  p.set_data_type(onnx_type(t.dtype()));
  for (int64_t d : t.shape()) p.add_dims(d);
  const Tensor c = t.detach().contiguous();
  if (t.dtype() == kBool) {
    // xgrad's bools are one byte each, as ONNX's raw BOOL data.
    p.set_raw_data(std::string(static_cast<const char*>(c.raw_data()), static_cast<size_t>(c.numel())));
  } else {
    p.set_raw_data(std::string(static_cast<const char*>(c.raw_data()), c.nbytes()));
  }
}

}  // namespace

void set_value_info(::onnx::ValueInfoProto& v, const Tensor& t, const std::string& name, bool dynamic_batch) {
  v.set_name(name);
  auto* tt = v.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx_type(t.dtype()));
  auto* shape = tt->mutable_shape();  // present even for a 0-d tensor (no dims)
  for (size_t d = 0; d < t.shape().size(); ++d) {
    auto* dim = shape->add_dim();
    if (dynamic_batch && d == 0)
      dim->set_dim_param("batch");
    else
      dim->set_dim_value(t.shape()[d]);
  }
}

void GraphBuilder::add_named(const Tensor& t, const std::string& name) {
  if (!t.defined() || named_.count(t.impl())) return;
  named_[t.impl()] = name;
  named_tensors_.push_back(t);
}

void GraphBuilder::add_input(const Tensor& t, const std::string& name) {
  set_value_info(*graph_.add_input(), t, name, dynamic_batch);
  input_names_.push_back(name);
  bind(t, name);
}

const Tensor* GraphBuilder::named_tensor(const std::string& name) const {
  for (const Tensor& t : named_tensors_)
    if (auto it = named_.find(t.impl()); it != named_.end() && it->second == name) return &t;
  return nullptr;
}

bool GraphBuilder::is_graph_input(const std::string& n) const {
  return std::find(input_names_.begin(), input_names_.end(), n) != input_names_.end();
}
bool GraphBuilder::produced_by_node(const std::string& n) const {
  return std::find(produced_.begin(), produced_.end(), n) != produced_.end();
}

std::string GraphBuilder::value(const Tensor& t) {
  if (!t.defined()) return "";
  if (auto it = names_.find(t.impl()); it != names_.end()) return it->second;
  // A parameter or buffer, or an alias of one (same storage, shape, strides and offset).
  auto named = named_.find(t.impl());
  if (named == named_.end())
    for (const Tensor& p : named_tensors_)
      if (p.impl()->storage_ == t.impl()->storage_ && p.shape() == t.shape() && p.strides() == t.strides() &&
          p.offset() == t.offset()) {
        named = named_.find(p.impl());
        break;
      }
  if (named != named_.end()) {
    if (std::find(emitted_named_.begin(), emitted_named_.end(), named->second) == emitted_named_.end()) {
      fill_tensor(*graph_.add_initializer(), t, named->second);
      emitted_named_.push_back(named->second);
    }
    bind(t, named->second);
    return named->second;
  }
  return const_tensor(t);
}

std::string GraphBuilder::const_tensor(const Tensor& t) {
  const std::string name = fresh("const");
  fill_tensor(*graph_.add_initializer(), t, name);
  bind(t, name);
  return name;
}

std::string GraphBuilder::const_ints(const std::vector<int64_t>& v, bool scalar) {
  const std::string name = fresh("const");
  auto* p = graph_.add_initializer();
  p->set_name(name);
  p->set_data_type(::onnx::TensorProto::INT64);
  if (!scalar) p->add_dims(static_cast<int64_t>(v.size()));
  for (int64_t x : v) p->add_int64_data(x);
  return name;
}

std::string GraphBuilder::const_reals(const std::vector<double>& v, DType dt, const Shape& shape) {
  const std::string name = fresh("const");
  auto* p = graph_.add_initializer();
  p->set_name(name);
  p->set_data_type(onnx_type(dt));
  for (int64_t d : shape) p->add_dims(d);
  if (dt == kFloat32) {
    for (double x : v) p->add_float_data(static_cast<float>(x));
  } else if (dt == kFloat64) {
    for (double x : v) p->add_double_data(x);
  } else if (dt == kInt64) {
    for (double x : v) p->add_int64_data(static_cast<int64_t>(x));
  } else {
    fail<DTypeError>("onnx export: a {} constant", dtype_name(dt));
  }
  return name;
}

std::string GraphBuilder::value_as(const Tensor& t, DType dt) {
  const std::string v = value(t);
  if (t.dtype() == dt) return v;
  ::onnx::NodeProto* n = nullptr;
  const std::string out = op1("Cast", {v}, &n);
  set_attr(*n, "to", static_cast<int64_t>(onnx_type(dt)));
  return out;
}

::onnx::NodeProto& GraphBuilder::node(const std::string& op, const std::vector<std::string>& inputs,
                                      const std::vector<std::string>& outputs) {
  auto* n = graph_.add_node();
  n->set_op_type(op);
  n->set_name(op + "_" + std::to_string(graph_.node_size() - 1));
  // Trailing absent optional inputs are left out; absent ones in between stay as "".
  size_t last = inputs.size();
  while (last > 0 && inputs[last - 1].empty()) --last;
  for (size_t i = 0; i < last; ++i) n->add_input(inputs[i]);
  for (const auto& o : outputs) {
    n->add_output(o);
    produced_.push_back(o);
  }
  if (current)
    n->set_doc_string("xgrad op '" + current->name + "' in module '" +
                      (current->module_path.empty() ? "<root>" : current->module_path) + "'");
  return *n;
}

std::string GraphBuilder::op1(const std::string& op, const std::vector<std::string>& inputs, ::onnx::NodeProto** out) {
  const std::string name = fresh("v");
  auto& n = node(op, inputs, {name});
  if (out) *out = &n;
  return name;
}

void set_attr(::onnx::NodeProto& n, const std::string& name, int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(v);
}
void set_attr(::onnx::NodeProto& n, const std::string& name, double v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::FLOAT);
  a->set_f(static_cast<float>(v));
}
void set_attr(::onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

void set_attr(::onnx::NodeProto& n, const std::string& name, const std::string& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::STRING);
  a->set_s(v);
}
void set_attr(::onnx::NodeProto& n, const std::string& name, const std::vector<std::string>& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::STRINGS);
  for (const auto& x : v) a->add_strings(x);
}

ops::NamedAttrs attributes_of(const autograd::Node& node) {
  if (const auto* d = dynamic_cast<const ops::DescribedNode*>(&node)) return d->attributes();
  return {};
}

const ops::Attr* find_attr(const ops::NamedAttrs& attrs, const std::string& name) {
  for (const auto& [k, v] : attrs)
    if (k == name) return &v;
  return nullptr;
}

}  // namespace xg::onnx_export
