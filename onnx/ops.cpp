/// The ONNX form of each traced op (docs/onnx.md has the table). Each emitter reads the op's tensors
/// and the attributes its tape node describes, adds nodes, and returns the names of the op's outputs.
#include <cmath>
#include <functional>
#include <map>
#include <numbers>

#include "onnx/builder.h"
#include "xgrad/error.h"
#include "xgrad/nn/rnn.h"

namespace xg::onnx_export {

namespace {

using Names = std::vector<std::string>;

/// What an emitter sees: the op, its described attributes, and the builder.
struct Ctx {
  GraphBuilder& b;
  const TracedOp& op;
  ops::NamedAttrs attrs;

  const Tensor& in(size_t i) const { return op.inputs.at(i); }
  bool has(size_t i) const { return i < op.inputs.size() && op.inputs[i].defined(); }
  const Tensor& out(size_t k = 0) const { return op.outputs.at(k); }
  DType dtype() const { return out().dtype(); }
  std::string v(size_t i) const { return b.value(in(i)); }
  /// Input i converted to the output's dtype (ONNX's arithmetic wants equal element types).
  std::string vo(size_t i) const { return b.value_as(in(i), dtype()); }

  [[noreturn]] void fail_op(const std::string& why) const {
    fail<ValueError>("onnx export: op '{}' in module '{}' (inputs {}): {}", op.name, where(), shapes(), why);
  }
  std::string where() const { return op.module_path.empty() ? "<root>" : op.module_path; }
  std::string shapes() const {
    std::string s;
    for (const auto& t : op.inputs) s += (s.empty() ? "" : ", ") + (t.defined() ? shape_str(t.shape()) : "None");
    return s;
  }

  const ops::Attr& attr(const std::string& name) const {
    const ops::Attr* a = find_attr(attrs, name);
    if (!a) fail_op("its tape node does not describe attribute '" + name + "'");
    return *a;
  }
  bool has_attr(const std::string& name) const { return find_attr(attrs, name) != nullptr; }
  double real(const std::string& name) const {
    const ops::Attr& a = attr(name);
    if (const auto* d = std::get_if<double>(&a)) return *d;
    if (const auto* i = std::get_if<int64_t>(&a)) return static_cast<double>(*i);
    if (const auto* b2 = std::get_if<bool>(&a)) return *b2 ? 1.0 : 0.0;
    fail_op("attribute '" + name + "' is not a number");
  }
  int64_t integer(const std::string& name) const {
    const ops::Attr& a = attr(name);
    if (const auto* i = std::get_if<int64_t>(&a)) return *i;
    if (const auto* b2 = std::get_if<bool>(&a)) return *b2 ? 1 : 0;
    fail_op("attribute '" + name + "' is not an integer");
  }
  bool flag(const std::string& name) const { return integer(name) != 0; }
  std::vector<int64_t> ints(const std::string& name) const {
    const ops::Attr& a = attr(name);
    if (const auto* v2 = std::get_if<std::vector<int64_t>>(&a)) return *v2;
    if (const auto* i = std::get_if<int64_t>(&a)) return {*i};
    if (std::holds_alternative<std::monostate>(a)) return {};
    fail_op("attribute '" + name + "' is not a list of integers");
  }
  std::vector<double> reals(const std::string& name) const {
    const ops::Attr& a = attr(name);
    if (const auto* v2 = std::get_if<std::vector<double>>(&a)) return *v2;
    fail_op("attribute '" + name + "' is not a list of reals");
  }

  std::string op1(const std::string& type, const Names& ins, ::onnx::NodeProto** n = nullptr) const {
    return b.op1(type, ins, n);
  }
  std::string scalar(double x) const { return b.const_scalar(x, dtype()); }
};

using Emitter = std::function<Names(Ctx&)>;

Emitter unary(const char* type) {
  return [type](Ctx& c) -> Names { return {c.op1(type, {c.vo(0)})}; };
}

/// Binary arithmetic: two tensors, or a tensor and the number the node keeps as "value".
Emitter binary(const char* type) {
  return [type](Ctx& c) -> Names {
    if (c.op.inputs.size() == 2) return {c.op1(type, {c.vo(0), c.vo(1)})};
    return {c.op1(type, {c.vo(0), c.scalar(c.real("value"))})};
  };
}

Names emit_linear(Ctx& c) {
  const std::string x = c.vo(0), w = c.vo(1);
  const std::string bias = c.has(2) ? c.vo(2) : "";
  if (c.in(0).dim() == 2) {
    ::onnx::NodeProto* n = nullptr;
    const std::string y = c.op1("Gemm", {x, w, bias}, &n);
    set_attr(*n, "transB", int64_t{1});
    return {y};
  }
  ::onnx::NodeProto* t = nullptr;
  const std::string wt = c.op1("Transpose", {w}, &t);
  set_attr(*t, "perm", std::vector<int64_t>{1, 0});
  std::string y = c.op1("MatMul", {x, wt});
  if (!bias.empty()) y = c.op1("Add", {y, bias});
  return {y};
}

Names emit_gelu(Ctx& c) {
  const std::string x = c.vo(0);
  std::string inner;
  if (c.flag("tanh_form")) {
    // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    const std::string x3 = c.op1("Mul", {x, c.op1("Mul", {x, x})});
    const std::string s = c.op1("Add", {x, c.op1("Mul", {x3, c.scalar(0.044715)})});
    inner = c.op1("Tanh", {c.op1("Mul", {s, c.scalar(std::sqrt(2.0 / std::numbers::pi))})});
  } else {
    // 0.5·x·(1 + erf(x/√2))
    inner = c.op1("Erf", {c.op1("Mul", {x, c.scalar(1.0 / std::numbers::sqrt2)})});
  }
  const std::string one_plus = c.op1("Add", {inner, c.scalar(1.0)});
  return {c.op1("Mul", {c.op1("Mul", {x, one_plus}), c.scalar(0.5)})};
}

Names emit_softplus(Ctx& c) {
  const double beta = c.real("beta");
  const std::string x = c.vo(0);
  // ONNX's Softplus is log(1 + exp(x)); xgrad's (as PyTorch's) returns x past the threshold, where
  // the two differ by less than exp(-threshold).
  if (beta == 1.0) return {c.op1("Softplus", {x})};
  const std::string sp = c.op1("Softplus", {c.op1("Mul", {x, c.scalar(beta)})});
  return {c.op1("Div", {sp, c.scalar(beta)})};
}

Names emit_clamp(Ctx& c) {
  auto bound = [&](const char* name) -> std::string {
    const ops::Attr& a = c.attr(name);
    if (std::holds_alternative<std::monostate>(a)) return "";
    return c.scalar(c.real(name));
  };
  return {c.op1("Clip", {c.vo(0), bound("min"), bound("max")})};
}

Emitter softmax(const char* type) {
  return [type](Ctx& c) -> Names {
    ::onnx::NodeProto* n = nullptr;
    const std::string y = c.op1(type, {c.vo(0)}, &n);
    set_attr(*n, "axis", c.integer("value"));
    return {y};
  };
}

Names emit_batch_norm(Ctx& c) {
  const Tensor& x = c.in(0);
  if (x.dim() < 2) c.fail_op("batch_norm export needs an input of rank 2 or more");
  const int64_t C = x.shape()[1];
  const std::vector<double> mean = c.reals("mean"), invstd = c.reals("invstd");
  const double eps = c.real("eps");
  // The running statistics as the module's named buffers when they are what the op normalised
  // with; otherwise constants (var recovered from invstd = 1/√(var + eps)).
  std::string mean_v, var_v;
  if (const Tensor* rm =
          c.b.named_tensor(c.op.module_path.empty() ? "running_mean" : c.op.module_path + ".running_mean"))
    if (const Tensor* rv =
            c.b.named_tensor(c.op.module_path.empty() ? "running_var" : c.op.module_path + ".running_var"))
      if (rm->numel() == C && rv->numel() == C && rm->dtype() == c.dtype() && rv->dtype() == c.dtype()) {
        const auto m = rm->to_vector<double>(), v = rv->to_vector<double>();
        bool same = true;
        for (size_t i = 0; i < static_cast<size_t>(C) && same; ++i)
          same = m[i] == mean[i] && 1.0 / std::sqrt(v[i] + eps) == invstd[i];
        if (same) {
          mean_v = c.b.value(*rm);
          var_v = c.b.value(*rv);
        }
      }
  if (mean_v.empty()) {
    std::vector<double> var(invstd.size());
    for (size_t i = 0; i < var.size(); ++i) var[i] = 1.0 / (invstd[i] * invstd[i]) - eps;
    mean_v = c.b.const_reals(mean, c.dtype(), {C});
    var_v = c.b.const_reals(var, c.dtype(), {C});
  }
  const std::string scale = c.has(1) ? c.vo(1) : c.b.const_reals(std::vector<double>(C, 1.0), c.dtype(), {C});
  const std::string bias = c.has(2) ? c.vo(2) : c.b.const_reals(std::vector<double>(C, 0.0), c.dtype(), {C});
  ::onnx::NodeProto* n = nullptr;
  const std::string y = c.op1("BatchNormalization", {c.vo(0), scale, bias, mean_v, var_v}, &n);
  set_attr(*n, "epsilon", eps);
  return {y};
}

Names emit_layer_norm(Ctx& c) {
  const Shape ns = c.ints("normalized_shape");
  const double eps = c.real("eps");
  const auto k = static_cast<int64_t>(ns.size());
  const std::string x = c.vo(0);
  if (c.b.opset() >= 17) {
    const std::string scale =
        c.has(1) ? c.vo(1)
                 : c.b.const_reals(std::vector<double>(static_cast<size_t>(shape_numel(ns)), 1.0), c.dtype(), ns);
    ::onnx::NodeProto* n = nullptr;
    const std::string y = c.op1("LayerNormalization", {x, scale, c.has(2) ? c.vo(2) : ""}, &n);
    set_attr(*n, "axis", -k);
    set_attr(*n, "epsilon", eps);
    return {y};
  }
  // Before opset 17: (x - mean) / √(var + eps) · w + b over the last k dims.
  std::vector<int64_t> axes;
  for (int64_t i = 0; i < k; ++i) axes.push_back(-1 - i);
  auto reduce_mean = [&](const std::string& t) {
    ::onnx::NodeProto* n = nullptr;
    const std::string y = c.op1("ReduceMean", {t}, &n);
    set_attr(*n, "axes", axes);
    set_attr(*n, "keepdims", int64_t{1});
    return y;
  };
  const std::string d = c.op1("Sub", {x, reduce_mean(x)});
  const std::string var = reduce_mean(c.op1("Mul", {d, d}));
  std::string y = c.op1("Div", {d, c.op1("Sqrt", {c.op1("Add", {var, c.scalar(eps)})})});
  if (c.has(1)) y = c.op1("Mul", {y, c.vo(1)});
  if (c.has(2)) y = c.op1("Add", {y, c.vo(2)});
  return {y};
}

// ---- shapes and views

/// A Reshape target for out: with a dynamic batch, dim 0 follows the input's (0) or is inferred
/// (-1) so that the file runs at any batch size.
std::string reshape_target(Ctx& c, const Shape& in, const Shape& out) {
  std::vector<int64_t> s(out.begin(), out.end());
  if (c.b.dynamic_batch && !in.empty() && !out.empty()) s[0] = in[0] == out[0] ? 0 : -1;
  return c.b.const_ints(s);
}

Names emit_reshape(Ctx& c) { return {c.op1("Reshape", {c.v(0), reshape_target(c, c.in(0).shape(), c.out().shape())})}; }

/// The permutation a permute or transpose view applied: from its attributes, else read off the
/// strides (out dim i has in dim perm[i]'s size and stride; dims that match several are of size 1,
/// where any choice gives the same tensor).
std::vector<int64_t> view_perm(Ctx& c) {
  if (c.has_attr("dims")) {
    auto p = c.ints("dims");
    for (auto& d : p) d = wrap_dim(d, c.in(0).dim(), "permute");
    return p;
  }
  const Tensor &x = c.in(0), &y = c.out();
  if (x.dim() != y.dim()) c.fail_op("a permutation changed the rank");
  if (c.has_attr("dim0") && c.has_attr("dim1")) {
    std::vector<int64_t> p(static_cast<size_t>(x.dim()));
    for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<int64_t>(i);
    std::swap(p[static_cast<size_t>(wrap_dim(c.integer("dim0"), x.dim(), "transpose"))],
              p[static_cast<size_t>(wrap_dim(c.integer("dim1"), x.dim(), "transpose"))]);
    return p;
  }
  std::vector<int64_t> p;
  std::vector<bool> used(static_cast<size_t>(x.dim()), false);
  for (size_t i = 0; i < static_cast<size_t>(y.dim()); ++i) {
    bool found = false;
    for (size_t j = 0; j < used.size() && !found; ++j)
      if (!used[j] && x.shape()[j] == y.shape()[i] && (x.strides()[j] == y.strides()[i] || x.shape()[j] == 1)) {
        used[j] = true;
        p.push_back(static_cast<int64_t>(j));
        found = true;
      }
    if (!found) c.fail_op("cannot read the permutation off the view's strides");
  }
  return p;
}

Names emit_transpose(Ctx& c) {
  ::onnx::NodeProto* n = nullptr;
  const std::string y = c.op1("Transpose", {c.v(0)}, &n);
  set_attr(*n, "perm", view_perm(c));
  return {y};
}

Names emit_expand(Ctx& c) {
  std::vector<int64_t> s(c.out().shape().begin(), c.out().shape().end());
  const Shape& in = c.in(0).shape();
  if (c.b.dynamic_batch && in.size() == s.size() && !s.empty() && in[0] == s[0]) s[0] = 1;
  return {c.op1("Expand", {c.v(0), c.b.const_ints(s)})};
}

/// slice(dim, start, end, step): from attributes, else from the view's offset and strides.
Names emit_slice(Ctx& c) {
  const Tensor &x = c.in(0), &y = c.out();
  int64_t dim = -1, start = 0, step = 1;
  if (c.has_attr("dim") && c.has_attr("start")) {
    dim = wrap_dim(c.integer("dim"), x.dim(), "slice");
    start = c.integer("start");
    step = c.has_attr("step") ? c.integer("step") : 1;
    if (start < 0) start += x.shape()[static_cast<size_t>(dim)];
  } else {
    if (x.dim() != y.dim()) c.fail_op("a slice changed the rank");
    for (size_t d = 0; d < static_cast<size_t>(x.dim()); ++d)
      if (x.shape()[d] != y.shape()[d]) dim = static_cast<int64_t>(d);
    if (dim < 0) return {c.op1("Identity", {c.v(0)})};
    const auto d = static_cast<size_t>(dim);
    const int64_t st = x.strides()[d];
    if (st == 0) c.fail_op("cannot read the slice off a stride-0 view");
    start = (y.offset() - x.offset()) / st;
    step = y.shape()[d] > 1 ? y.strides()[d] / st : 1;
  }
  const int64_t len = y.shape()[static_cast<size_t>(dim)];
  const int64_t end = len == 0 ? start : start + (len - 1) * step + 1;
  return {c.op1("Slice", {c.v(0), c.b.const_ints({start}), c.b.const_ints({end}), c.b.const_ints({dim}),
                          c.b.const_ints({step})})};
}

Names emit_cat(Ctx& c) {
  Names ins;
  for (size_t i = 0; i < c.op.inputs.size(); ++i) ins.push_back(c.vo(i));
  int64_t axis = -1;
  if (c.has_attr("dim")) {
    axis = wrap_dim(c.integer("dim"), c.out().dim(), "cat");
  } else {
    const Shape& o = c.out().shape();
    for (size_t d = 0; d < o.size() && axis < 0; ++d) {
      int64_t total = 0;
      bool others = true;
      for (const auto& t : c.op.inputs) {
        if (t.dim() != c.out().dim()) c.fail_op("cat of inputs of another rank");
        total += t.shape()[d];
      }
      for (const auto& t : c.op.inputs)
        for (size_t e = 0; e < o.size(); ++e)
          if (e != d && t.shape()[e] != o[e]) others = false;
      if (total == o[d] && others) axis = static_cast<int64_t>(d);
    }
    if (axis < 0) c.fail_op("cannot tell cat's dim from the shapes");
  }
  ::onnx::NodeProto* n = nullptr;
  const std::string y = c.op1("Concat", ins, &n);
  set_attr(*n, "axis", axis);
  return {y};
}

/// clone, to: a copy (Identity) or a conversion (Cast).
Names emit_copy(Ctx& c) { return {c.in(0).dtype() == c.dtype() ? c.op1("Identity", {c.v(0)}) : c.vo(0)}; }

// ---- convolution and pooling

/// ONNX's pads for symmetric 2-D padding: [top, left, bottom, right].
std::vector<int64_t> pads2d(const std::vector<int64_t>& p) {
  if (p.size() != 2) return {0, 0, 0, 0};
  return {p[0], p[1], p[0], p[1]};
}

Emitter conv(const char* type) {
  return [type](Ctx& c) -> Names {
    const Tensor& w = c.in(1);
    if (w.dim() != 4) c.fail_op("only 2-D convolutions are exported");
    ::onnx::NodeProto* n = nullptr;
    const std::string y = c.op1(type, {c.vo(0), c.vo(1), c.has(2) ? c.vo(2) : ""}, &n);
    set_attr(*n, "kernel_shape", std::vector<int64_t>{w.shape()[2], w.shape()[3]});
    set_attr(*n, "strides", c.ints("stride"));
    set_attr(*n, "pads", pads2d(c.ints("padding")));
    set_attr(*n, "dilations", c.ints("dilation"));
    set_attr(*n, "group", c.integer("groups"));
    if (std::string(type) == "ConvTranspose") {
      const auto op = c.ints("output_padding");
      if (op.size() == 2 && (op[0] != 0 || op[1] != 0)) set_attr(*n, "output_padding", op);
    }
    return {y};
  };
}

Emitter pool(const char* type) {
  return [type](Ctx& c) -> Names {
    ::onnx::NodeProto* n = nullptr;
    const std::string y = c.op1(type, {c.vo(0)}, &n);
    set_attr(*n, "kernel_shape", c.ints("kernel_size"));
    set_attr(*n, "strides", c.ints("stride"));
    set_attr(*n, "pads", pads2d(c.ints("padding")));
    if (std::string(type) == "AveragePool") set_attr(*n, "count_include_pad", c.integer("count_include_pad"));
    return {y};
  };
}

/// conv2d_relu_maxpool2d, one op in xgrad (nn::Sequential runs Conv2d -> ReLU -> MaxPool2d(2) through
/// it when no module has hooks, as during export none has): its three nodes.
Names emit_conv_relu_pool(Ctx& c) {
  const std::string y = conv("Conv")(c)[0];
  const std::string r = c.op1("Relu", {y});
  ::onnx::NodeProto* n = nullptr;
  const std::string p = c.op1("MaxPool", {r}, &n);
  set_attr(*n, "kernel_shape", std::vector<int64_t>{2, 2});
  set_attr(*n, "strides", std::vector<int64_t>{2, 2});
  set_attr(*n, "pads", std::vector<int64_t>{0, 0, 0, 0});
  return {p};
}

/// Adaptive average pooling: GlobalAveragePool for a 1×1 output, else an AveragePool when the output
/// divides the input (the windows are then equal and do not overlap).
Names emit_adaptive_avg_pool(Ctx& c) {
  const Shape& x = c.in(0).shape();
  const std::vector<int64_t> os = c.ints("output_size");
  if (x.size() != 4 || os.size() != 2) c.fail_op("expected a 4-D input and a 2-D output size");
  if (os[0] == 1 && os[1] == 1) return {c.op1("GlobalAveragePool", {c.vo(0)})};
  if (x[2] % os[0] != 0 || x[3] % os[1] != 0)
    c.fail_op(
        fmt::format("output size [{}, {}] does not divide the input's [{}, {}], so the windows differ in size; "
                    "ONNX has no adaptive pooling",
                    os[0], os[1], x[2], x[3]));
  ::onnx::NodeProto* n = nullptr;
  const std::string y = c.op1("AveragePool", {c.vo(0)}, &n);
  const std::vector<int64_t> k = {x[2] / os[0], x[3] / os[1]};
  set_attr(*n, "kernel_shape", k);
  set_attr(*n, "strides", k);
  return {y};
}

// ---- reductions

/// The reduced dims (all of them when the node lists none).
std::vector<int64_t> reduced_axes(Ctx& c) {
  std::vector<int64_t> axes = c.ints("dim");
  if (axes.empty())
    for (int64_t d = 0; d < c.in(0).dim(); ++d) axes.push_back(d);
  return axes;
}

Emitter reduce(const char* type) {
  return [type](Ctx& c) -> Names {
    const auto axes = reduced_axes(c);
    const int64_t keep = c.flag("keepdim") ? 1 : 0;
    if (c.in(0).dim() == 0) return {c.op1("Identity", {c.vo(0)})};
    ::onnx::NodeProto* n = nullptr;
    std::string y;
    if (std::string(type) == "ReduceSum") {
      // Since opset 13, ReduceSum takes its axes as an input (the others until opset 18).
      y = c.op1(type, {c.vo(0), c.b.const_ints(axes)}, &n);
    } else {
      y = c.op1(type, {c.vo(0)}, &n);
      set_attr(*n, "axes", axes);
    }
    set_attr(*n, "keepdims", keep);
    return {y};
  };
}

/// var and std: mean of squared deviations over n - correction, from the shapes.
Emitter variance(bool root) {
  return [root](Ctx& c) -> Names {
    const auto axes = reduced_axes(c);
    if (!c.has_attr("denom")) c.fail_op("its tape node does not describe its divisor (n - correction)");
    const double denom = c.real("denom");
    const std::string x = c.vo(0);
    ::onnx::NodeProto* m = nullptr;
    const std::string mean = c.op1("ReduceMean", {x}, &m);
    set_attr(*m, "axes", axes);
    set_attr(*m, "keepdims", int64_t{1});
    const std::string d = c.op1("Sub", {x, mean});
    ::onnx::NodeProto* s = nullptr;
    const std::string ss = c.op1("ReduceSum", {c.op1("Mul", {d, d}), c.b.const_ints(axes)}, &s);
    set_attr(*s, "keepdims", c.flag("keepdim") ? int64_t{1} : int64_t{0});
    const std::string v = c.op1("Div", {ss, c.scalar(denom)});
    return {root ? c.op1("Sqrt", {v}) : v};
  };
}

// ---- lookups

/// embedding(indices, weight): Gather on the weight's rows.
Names emit_embedding(Ctx& c) {
  if (!c.has(1)) c.fail_op("the node does not hold the indices");
  ::onnx::NodeProto* n = nullptr;
  const std::string y = c.op1("Gather", {c.vo(0), c.b.value_as(c.in(1), kInt64)}, &n);
  set_attr(*n, "axis", int64_t{0});
  return {y};
}

Names emit_index_select(Ctx& c) {
  ::onnx::NodeProto* n = nullptr;
  const std::string y = c.op1("Gather", {c.vo(0), c.b.value_as(c.in(1), kInt64)}, &n);
  set_attr(*n, "axis", wrap_dim(c.integer("dim"), c.in(0).dim(), "index_select"));
  return {y};
}

const std::map<std::string, Emitter>& table() {
  static const std::map<std::string, Emitter> t = {
      {"linear", emit_linear},
      {"mm",
       [](Ctx& c) -> Names {
         return {c.op1("MatMul", {c.vo(0), c.vo(1)})};
       }},
      {"bmm",
       [](Ctx& c) -> Names {
         return {c.op1("MatMul", {c.vo(0), c.vo(1)})};
       }},
      {"add", binary("Add")},
      {"sub", binary("Sub")},
      {"mul", binary("Mul")},
      {"div", binary("Div")},
      {"pow", binary("Pow")},
      {"maximum", binary("Max")},
      {"minimum", binary("Min")},
      {"neg", unary("Neg")},
      {"exp", unary("Exp")},
      {"log", unary("Log")},
      {"sqrt", unary("Sqrt")},
      {"rsqrt", [](Ctx& c) -> Names { return {c.op1("Reciprocal", {c.op1("Sqrt", {c.vo(0)})})}; }},
      {"abs", unary("Abs")},
      {"sign", unary("Sign")},
      {"square",
       [](Ctx& c) -> Names {
         return {c.op1("Mul", {c.vo(0), c.vo(0)})};
       }},
      {"reciprocal", unary("Reciprocal")},
      {"sin", unary("Sin")},
      {"cos", unary("Cos")},
      {"erf", unary("Erf")},
      {"relu", unary("Relu")},
      {"sigmoid", unary("Sigmoid")},
      {"tanh", unary("Tanh")},
      {"leaky_relu",
       [](Ctx& c) -> Names {
         ::onnx::NodeProto* n = nullptr;
         const std::string y = c.op1("LeakyRelu", {c.vo(0)}, &n);
         set_attr(*n, "alpha", c.real("negative_slope"));
         return {y};
       }},
      {"elu",
       [](Ctx& c) -> Names {
         ::onnx::NodeProto* n = nullptr;
         const std::string y = c.op1("Elu", {c.vo(0)}, &n);
         set_attr(*n, "alpha", c.real("alpha"));
         return {y};
       }},
      {"silu",
       [](Ctx& c) -> Names {
         return {c.op1("Mul", {c.vo(0), c.op1("Sigmoid", {c.vo(0)})})};
       }},
      {"gelu", emit_gelu},
      {"softplus", emit_softplus},
      {"hardswish",
       [](Ctx& c) -> Names {
         if (c.b.opset() >= 14) return {c.op1("HardSwish", {c.vo(0)})};
         // HardSwish is opset 14: x · HardSigmoid(x) with PyTorch's slope and offset before.
         ::onnx::NodeProto* n = nullptr;
         const std::string hs = c.op1("HardSigmoid", {c.vo(0)}, &n);
         set_attr(*n, "alpha", 1.0 / 6.0);
         set_attr(*n, "beta", 0.5);
         return {c.op1("Mul", {c.vo(0), hs})};
       }},
      {"hardsigmoid",
       [](Ctx& c) -> Names {
         ::onnx::NodeProto* n = nullptr;
         const std::string y = c.op1("HardSigmoid", {c.vo(0)}, &n);
         set_attr(*n, "alpha", 1.0 / 6.0);
         set_attr(*n, "beta", 0.5);
         return {y};
       }},
      {"clamp", emit_clamp},
      {"softmax", softmax("Softmax")},
      {"log_softmax", softmax("LogSoftmax")},
      {"batch_norm", emit_batch_norm},
      {"layer_norm", emit_layer_norm},
      {"view", emit_reshape},
      {"reshape", emit_reshape},
      {"flatten", emit_reshape},
      {"squeeze", emit_reshape},
      {"unsqueeze", emit_reshape},
      {"permute", emit_transpose},
      {"transpose", emit_transpose},
      {"expand", emit_expand},
      {"slice", emit_slice},
      {"cat", emit_cat},
      {"clone", emit_copy},
      {"conv2d", conv("Conv")},
      {"conv2d_relu_maxpool2d", emit_conv_relu_pool},
      {"conv_transpose2d", conv("ConvTranspose")},
      {"max_pool2d", pool("MaxPool")},
      {"avg_pool2d", pool("AveragePool")},
      {"adaptive_avg_pool2d", emit_adaptive_avg_pool},
      {"sum", reduce("ReduceSum")},
      {"prod", reduce("ReduceProd")},
      {"amax", reduce("ReduceMax")},
      {"amin", reduce("ReduceMin")},
      {"var", variance(false)},
      {"std", variance(true)},
      {"embedding", emit_embedding},
      {"index_select", emit_index_select},
      {"to", emit_copy},
  };
  return t;
}

// ---- recurrent layers

/// Rows of a [G·H, ·] gate-stacked weight in ONNX's gate order: ONNX block k is xgrad's blocks[k].
std::vector<int64_t> gate_rows(const std::vector<int64_t>& blocks, int64_t H) {
  std::vector<int64_t> rows;
  for (int64_t blk : blocks)
    for (int64_t r = 0; r < H; ++r) rows.push_back(blk * H + r);
  return rows;
}

/// A whole nn::LSTM, GRU or RNN forward (3-D input, zero initial states) as one ONNX recurrent node
/// per layer. xgrad keeps PyTorch's gate order (LSTM i f g o, GRU r z n) and layout; ONNX wants
/// LSTM i o f c and GRU z r h, W [D, G·H, I], R [D, G·H, H], B [D, 2·G·H]: the weights stay the
/// module's named initializers, reordered by Gather on constant row indices (folded by runtimes).
Names emit_recurrent(GraphBuilder& b, const TracedOp& op) {
  const auto* rnn = dynamic_cast<const nn::RNNBase*>(op.module.get());
  if (!rnn) fail<ValueError>("onnx export: module '{}' is not a recurrent layer", op.module_path);
  const nn::RNNOptions& o = rnn->options();
  const bool lstm = dynamic_cast<const nn::LSTM*>(rnn) != nullptr, gru = dynamic_cast<const nn::GRU*>(rnn) != nullptr;
  const int64_t G = lstm ? 4 : gru ? 3 : 1, H = o.hidden_size, D = o.bidirectional ? 2 : 1;
  const std::vector<int64_t> blocks = lstm  ? std::vector<int64_t>{0, 3, 1, 2}
                                      : gru ? std::vector<int64_t>{1, 0, 2}
                                            : std::vector<int64_t>{0};
  const std::string type = lstm ? "LSTM" : gru ? "GRU" : "RNN";
  const auto params = op.module->named_parameters(false);
  const DType dt = op.outputs[0].dtype();
  auto param = [&](const std::string& name) -> std::string {
    const Tensor* t = params.find(name);
    if (!t) fail<ValueError>("onnx export: {} '{}' has no parameter '{}'", type, op.module_path, name);
    return b.value_as(*t, dt);
  };
  const std::string rows = G == 1 ? "" : b.const_ints(gate_rows(blocks, H));
  const std::string axis0 = b.const_ints({0});
  auto reorder = [&](const std::string& v) {
    ::onnx::NodeProto* n = nullptr;
    const std::string g = G == 1 ? v : b.op1("Gather", {v, rows}, &n);
    if (n) set_attr(*n, "axis", int64_t{0});
    return g;
  };
  auto stack_dirs = [&](const std::vector<std::string>& per_dir) {
    std::vector<std::string> u;
    for (const auto& v : per_dir) u.push_back(b.op1("Unsqueeze", {v, axis0}));
    if (u.size() == 1) return u[0];
    ::onnx::NodeProto* n = nullptr;
    const std::string y = b.op1("Concat", u, &n);
    set_attr(*n, "axis", int64_t{0});
    return y;
  };
  auto transpose = [&](const std::string& v, std::vector<int64_t> perm) {
    ::onnx::NodeProto* n = nullptr;
    const std::string y = b.op1("Transpose", {v}, &n);
    set_attr(*n, "perm", perm);
    return y;
  };

  std::string x = b.value_as(op.inputs[0], dt);
  if (o.batch_first) x = transpose(x, {1, 0, 2});  // [T, N, F]
  for (int64_t l = 0; l < o.num_layers; ++l) {
    std::vector<std::string> W, R, B;
    for (int64_t d = 0; d < D; ++d) {
      const std::string sfx = "_l" + std::to_string(l) + (d == 1 ? "_reverse" : "");
      W.push_back(reorder(param("weight_ih" + sfx)));
      R.push_back(reorder(param("weight_hh" + sfx)));
      if (o.bias) {
        ::onnx::NodeProto* n = nullptr;
        B.push_back(b.op1("Concat", {reorder(param("bias_ih" + sfx)), reorder(param("bias_hh" + sfx))}, &n));
        set_attr(*n, "axis", int64_t{0});
      }
    }
    const std::string y = b.fresh("v");
    auto& n = b.node(type, {x, stack_dirs(W), stack_dirs(R), o.bias ? stack_dirs(B) : ""}, {y});
    set_attr(n, "hidden_size", H);
    set_attr(n, "direction", std::string(D == 2 ? "bidirectional" : "forward"));
    if (gru) set_attr(n, "linear_before_reset", int64_t{1});
    if (!lstm && !gru)
      set_attr(n, "activations",
               std::vector<std::string>(static_cast<size_t>(D), o.nonlinearity == "relu" ? "Relu" : "Tanh"));
    // Y [T, D, N, H] -> [T, N, D·H]
    x = b.op1("Reshape", {transpose(y, {0, 2, 1, 3}), b.const_ints({0, 0, -1})});
  }
  if (o.batch_first) x = transpose(x, {1, 0, 2});
  return {x};
}

}  // namespace

void emit_op(GraphBuilder& b, const TracedOp& op) {
  if (!op.node) {
    b.current = &op;
    const Names outs = emit_recurrent(b, op);
    b.current = nullptr;
    b.bind(op.outputs[0], outs[0]);
    b.traced_values.emplace_back(outs[0], op.outputs[0]);
    return;
  }
  Ctx c{b, op, attributes_of(*op.node)};
  const auto& t = table();
  const auto it = t.find(op.name);
  if (it == t.end()) c.fail_op("no ONNX export for this op (docs/onnx.md lists the exported ops)");
  b.current = &op;
  const Names outs = it->second(c);
  b.current = nullptr;
  if (outs.size() != op.outputs.size()) c.fail_op("the export made a different number of outputs");
  for (size_t k = 0; k < outs.size(); ++k) {
    b.bind(op.outputs[k], outs[k]);
    b.traced_values.emplace_back(outs[k], op.outputs[k]);
  }
}

}  // namespace xg::onnx_export
