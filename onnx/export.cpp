/// export_model: traces the forward through the tape's op observer, builds the ONNX graph from
/// the recorded ops, checks it with ONNX's checker and shape inference, and writes it atomically.
#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <unistd.h>
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "onnx/builder.h"
#include "xgrad/error.h"
#include "xgrad/nn/rnn.h"
#include "xgrad/onnx/export.h"

#ifndef XGRAD_VERSION_STRING
#define XGRAD_VERSION_STRING "unknown"
#endif

namespace xg::onnx {

using onnx_export::GraphBuilder;
using onnx_export::TracedOp;

namespace {

/// Records every op connect() wires on this thread, with the module path it ran in.
class Tracer final : public autograd::OpObserver {
 public:
  void on_op(const std::shared_ptr<autograd::Node>& node, const char* name, std::span<const Tensor* const> inputs,
             std::span<Tensor* const> outputs) override {
    TracedOp op{node, name, {}, {}, {}};
    for (const Tensor* t : inputs) op.inputs.push_back(t ? *t : Tensor());
    for (Tensor* t : outputs) op.outputs.push_back(*t);
    op.module_path = current_path();
    ops.push_back(std::move(op));
  }
  std::string current_path() const {
    std::string s;
    for (const auto& p : path)
      if (!p.empty()) s += (s.empty() ? "" : ".") + p;
    return s;
  }
  /// The modules whose forward is running, outermost first (their names in their parents).
  std::vector<std::string> path;
  std::vector<TracedOp> ops;
};

/// Installs the tracer and module-path hooks for one run; removes both on every exit.
class TraceScope {
 public:
  TraceScope(nn::Module& m, Tracer& tracer) : prev_(autograd::set_op_observer(&tracer)) {
    for (const auto& [name, mod] : m.named_modules()) {
      const size_t dot = name.rfind('.');
      const std::string leaf = dot == std::string::npos ? name : name.substr(dot + 1);
      Tracer* t = &tracer;
      // A recurrent layer on a 3-D input becomes one entry (ONNX's LSTM, GRU or RNN) in place of the
      // cell ops it ran. Its hooks come first, so that its post-hook still sees its own path.
      if (dynamic_cast<nn::RNNBase*>(mod.get())) {
        auto frames = std::make_shared<std::vector<size_t>>();
        handles_.push_back(mod->register_forward_pre_hook([t, frames](nn::Module&, const Tensor& x) {
          frames->push_back(x.defined() && x.dim() == 3 ? t->ops.size() : SIZE_MAX);
        }));
        std::weak_ptr<nn::Module> weak = mod;
        handles_.push_back(mod->register_forward_hook([t, frames, weak](nn::Module&, const Tensor& x, const Tensor& y) {
          if (frames->empty()) return;
          const size_t start = frames->back();
          frames->pop_back();
          if (start == SIZE_MAX) return;
          t->ops.resize(start);
          TracedOp op{nullptr, "recurrent layer", {x}, {y}, {}, weak.lock()};
          op.module_path = t->current_path();
          t->ops.push_back(std::move(op));
        }));
      }
      handles_.push_back(
          mod->register_forward_pre_hook([t, leaf](nn::Module&, const Tensor&) { t->path.push_back(leaf); }));
      handles_.push_back(mod->register_forward_hook([t](nn::Module&, const Tensor&, const Tensor&) {
        if (!t->path.empty()) t->path.pop_back();
      }));
    }
  }
  ~TraceScope() {
    autograd::set_op_observer(prev_);
    for (auto& h : handles_) h.remove();
  }
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;

 private:
  autograd::OpObserver* prev_;
  std::vector<nn::HookHandle> handles_;
};

std::string shapes_str(const std::vector<Tensor>& ts) {
  std::string s;
  for (const auto& t : ts) s += (s.empty() ? "" : ", ") + (t.defined() ? shape_str(t.shape()) : std::string("None"));
  return s;
}

/// Puts the module in eval mode and restores every module's own mode after: train() recurses, so
/// restoring in pre-order leaves each module as it was.
class EvalScope {
 public:
  explicit EvalScope(nn::Module& m) {
    for (const auto& mod : m.modules()) modes_.emplace_back(mod, mod->is_training());
    m.eval();
  }
  ~EvalScope() {
    for (auto& [mod, on] : modes_) mod->train(on);
  }
  EvalScope(const EvalScope&) = delete;
  EvalScope& operator=(const EvalScope&) = delete;

 private:
  std::vector<std::pair<std::shared_ptr<nn::Module>, bool>> modes_;
};

struct Traced {
  std::vector<TracedOp> ops;
  std::vector<Tensor> inputs, outputs;
};

/// Runs forward on copies of the inputs that require grad (float ones), so that every op downstream
/// of an input or a parameter records; integer inputs (token ids) record through the parameters
/// they meet (embedding's weight).
Traced trace(nn::Module& module, const Forward& forward, const std::vector<Tensor>& example_inputs) {
  Traced t;
  for (const auto& x : example_inputs) {
    if (!x.defined()) fail<ValueError>("onnx export: an example input is undefined");
    Tensor c = x.detach().clone();
    if (is_floating(c.dtype())) c.requires_grad_(true);
    t.inputs.push_back(c);
  }
  EnableGradGuard grad;
  Tracer tracer;
  {
    TraceScope scope(module, tracer);
    try {
      t.outputs = forward(t.inputs);
    } catch (const Error& e) {
      fail<ShapeError>("onnx export: running the model on example inputs of shape(s) {} failed: {}",
                       shapes_str(example_inputs), e.what());
    }
  }
  t.ops = std::move(tracer.ops);
  return t;
}

/// Second inputs with other values: floats reversed and rescaled, integers reversed (so they stay
/// valid ids). With a dynamic batch they hold one more sample (the first again), so that anything
/// frozen at the example's batch size shows up as a difference too.
std::vector<Tensor> other_inputs(const std::vector<Tensor>& xs, bool grow_batch) {
  std::vector<Tensor> out;
  for (const auto& x : xs) {
    Shape s = x.shape();
    const bool grow = grow_batch && !s.empty() && s[0] > 0;
    const auto row = static_cast<size_t>(grow ? x.numel() / s[0] : 0);
    if (grow) s[0] += 1;
    auto remake = [&]<class T>(std::vector<T> v, bool affine) {
      std::reverse(v.begin(), v.end());
      if (affine)
        for (size_t i = 0; i < v.size(); ++i) v[i] = v[i] * T(0.75) + T(0.25) * static_cast<T>(i % 7) - T(0.5);
      v.insert(v.end(), v.begin(), v.begin() + static_cast<std::ptrdiff_t>(row));
      return from_vector(v, s);
    };
    if (x.dtype() == kInt64)
      out.push_back(remake(x.to_vector<int64_t>(), false));
    else if (x.dtype() == kFloat32)
      out.push_back(remake(x.to_vector<float>(), true));
    else if (x.dtype() == kFloat64)
      out.push_back(remake(x.to_vector<double>(), true));
    else
      out.push_back(x);
  }
  return out;
}

/// The model of a trace. values (optional) receives each op output's name and traced tensor.
::onnx::ModelProto build(nn::Module& module, const Traced& t, const ExportOptions& o,
                         std::vector<std::pair<std::string, Tensor>>* values = nullptr) {
  ::onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("xgrad");
  model.set_producer_version(XGRAD_VERSION_STRING);
  model.set_doc_string(std::string("Exported by xgrad ") + XGRAD_VERSION_STRING + " (xg::onnx::export_model)");
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(o.opset);
  ::onnx::GraphProto& g = *model.mutable_graph();
  g.set_name(o.model_name);
  GraphBuilder b(g, o.opset);
  b.dynamic_batch = o.dynamic_batch;
  for (const auto& [name, p] : module.named_parameters()) b.add_named(p, name);
  for (const auto& [name, p] : module.named_buffers()) b.add_named(p, name);
  for (size_t i = 0; i < t.inputs.size(); ++i) {
    std::string name = i < o.input_names.size() ? o.input_names[i]
                       : t.inputs.size() == 1   ? "input"
                                                : "input" + std::to_string(i);
    b.add_input(t.inputs[i], name);
  }
  for (const auto& op : t.ops) onnx_export::emit_op(b, op);
  if (values) *values = b.traced_values;
  for (size_t k = 0; k < t.outputs.size(); ++k) {
    const Tensor& y = t.outputs[k];
    if (!y.defined()) fail<ValueError>("onnx export: output {} of the model is undefined", k);
    const std::string name = k < o.output_names.size() ? o.output_names[k]
                             : t.outputs.size() == 1   ? "output"
                                                       : "output" + std::to_string(k);
    const std::string v = b.value(y);
    b.node("Identity", {v}, {name});
    onnx_export::set_value_info(*g.add_output(), y, name, o.dynamic_batch);
  }
  return model;
}

/// Where the graphs of two runs first differ, or "" when they are the same.
std::string first_difference(const ::onnx::GraphProto& a, const ::onnx::GraphProto& b) {
  const int n = std::min(a.node_size(), b.node_size());
  for (int i = 0; i < n; ++i)
    if (a.node(i).SerializeAsString() != b.node(i).SerializeAsString())
      return fmt::format("node {} is {} ({}) in the first run and {} ({}) in the second", i, a.node(i).op_type(),
                         a.node(i).doc_string(), b.node(i).op_type(), b.node(i).doc_string());
  if (a.node_size() != b.node_size())
    return fmt::format("the first run recorded {} nodes, the second {}", a.node_size(), b.node_size());
  const int m = std::min(a.initializer_size(), b.initializer_size());
  for (int i = 0; i < m; ++i)
    if (a.initializer(i).SerializeAsString() != b.initializer(i).SerializeAsString()) {
      std::string user;
      for (const auto& node : a.node())
        for (const auto& in : node.input())
          if (user.empty() && in == a.initializer(i).name())
            user = fmt::format(" (read by {} {})", node.op_type(), node.doc_string());
      return fmt::format(
          "constant '{}'{} has other values: it depends on the input through something the tape does "
          "not record",
          a.initializer(i).name(), user);
    }
  if (a.initializer_size() != b.initializer_size()) return "the runs have different numbers of constants";
  return "";
}

void check(::onnx::ModelProto& model, const std::string& path) {
  try {
    ::onnx::checker::check_model(model);
    ::onnx::shape_inference::InferShapes(model, ::onnx::OpSchemaRegistry::Instance(),
                                         ::onnx::ShapeInferenceOptions(true, 1, false));
  } catch (const std::exception& e) {
    fail<ValueError>("onnx export: ONNX's checker refused the model for '{}': {}", path, e.what());
  }
}

void write_atomically(const ::onnx::ModelProto& model, const std::string& path) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) fail<IOError>("onnx export: cannot open '{}' for writing", tmp);
    if (!model.SerializeToOstream(&f)) {
      f.close();
      std::remove(tmp.c_str());
      fail<IOError>("onnx export: writing '{}' failed", tmp);
    }
    f.close();
    if (!f) {
      std::remove(tmp.c_str());
      fail<IOError>("onnx export: writing '{}' failed", tmp);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    fail<IOError>("onnx export: cannot rename '{}' to '{}': {}", tmp, path, ec.message());
  }
}

}  // namespace

ExportInfo export_model(nn::Module& module, const Forward& forward, const std::vector<Tensor>& example_inputs,
                        const std::string& path, const ExportOptions& options) {
  if (options.opset < 13 || options.opset > 17)
    fail<ValueError>("onnx export: opset {} is not supported (13 to 17)", options.opset);
  if (example_inputs.empty()) fail<ValueError>("onnx export: no example inputs");
  ::onnx::ModelProto model;
  Traced first;
  {
    EvalScope eval(module);
    first = trace(module, forward, example_inputs);
    model = build(module, first, options);
    if (options.check_repeatable) {
      const Traced second = trace(module, forward, other_inputs(example_inputs, options.dynamic_batch));
      const ::onnx::ModelProto again = build(module, second, options);
      const std::string diff = first_difference(model.graph(), again.graph());
      if (!diff.empty())
        fail<ValueError>(
            "onnx export: the model records a different graph on other inputs {}({}): it has control flow or values "
            "that depend on the input{}, which a traced ONNX graph cannot capture; nothing written to '{}'",
            options.dynamic_batch ? "with one more sample (dynamic_batch) " : "of the same shapes ", diff,
            options.dynamic_batch ? " or on the batch size" : "", path);
    }
  }
  {
    // A static-shape copy stating every intermediate's traced shape and type: strict shape inference
    // then checks each node's output against what xgrad computed (an exporter bug fails here).
    ExportOptions fixed = options;
    fixed.dynamic_batch = false;
    std::vector<std::pair<std::string, Tensor>> values;
    ::onnx::ModelProto strict = build(module, first, fixed, &values);
    for (const auto& [name, t] : values)
      onnx_export::set_value_info(*strict.mutable_graph()->add_value_info(), t, name, false);
    check(strict, path);
  }
  check(model, path);
  write_atomically(model, path);
  ExportInfo info;
  info.path = path;
  for (const auto& n : model.graph().node()) info.node_ops.push_back(n.op_type());
  for (const auto& i : model.graph().initializer()) info.initializers.push_back(i.name());
  return info;
}

ExportInfo export_model(nn::Module& module, const std::vector<Tensor>& example_inputs, const std::string& path,
                        const ExportOptions& options) {
  if (example_inputs.size() != 1)
    fail<ValueError>("onnx export: module '{}' takes one input, {} example inputs given (pass a Forward for several)",
                     module.name(), example_inputs.size());
  return export_model(
      module, [&module](const std::vector<Tensor>& xs) { return std::vector<Tensor>{module(xs[0])}; }, example_inputs,
      path, options);
}

}  // namespace xg::onnx
