#pragma once
/// One way to define a differentiable op. An OpDef names the op once, says which of its inputs and
/// outputs backward reads, and holds one backward formula written with differentiable ops, so the
/// same formula serves the plain backward and create_graph. Where a fused kernel does the same maths
/// faster, the OpDef holds it beside the formula (`fused`, used when no graph is built of the
/// backward); tests/ops/test_op_registry.cpp checks each pair against each other, and every
/// registered op by gradcheck and gradgradcheck. expose() puts the op in the registry
/// (xgrad/ops/registry.h) under the same name, for the conformance runner and those tests.
///
///   const OpDef<> kSigmoid{
///       .name = "sigmoid", .saves = {.outputs = 0b1},
///       .backward = [](const Ctx<>& c) -> Grads { ... c.grad(), c.output() ... }};
///   Tensor sigmoid(const Tensor& x) { return kSigmoid.record(unary_forward(x, kSigmoid.name, F{}), {&x}); }
///   const RegisterOp reg_sigmoid = expose(kSigmoid, sigmoid, {"input"});
#include <array>
#include <tuple>
#include <type_traits>

#include "core/pool.h"
#include "ops/helpers.h"
#include "xgrad/ops/registry.h"

namespace xg::ops {

struct NoAttrs {};

/// Which tensors backward reads: bit i of `inputs` is input i, bit k of `outputs` is output k.
struct Saves {
  uint8_t inputs = 0;
  uint8_t outputs = 0;
  /// Save input i only when another input needs a gradient (mul: each side's gradient reads only
  /// the other side).
  bool for_others = false;
};

template <class A, size_t N, size_t M>
struct OpDef;
template <class A, size_t N, size_t M>
class OpNode;

/// What a backward formula is given: the output gradients, the saved tensors, the attributes.
template <class A = NoAttrs, size_t N = 1, size_t M = 1>
class Ctx {
 public:
  Ctx(const OpNode<A, N, M>& node, const Grads& grads) : node_(node), grads_(grads) {}
  /// The gradient of output k (undefined where none flowed into a multi-output op).
  const Tensor& grad(size_t k = 0) const { return grads_[k]; }
  /// Saved input i, checked against in-place changes since it was saved.
  Tensor input(size_t i = 0) const { return node_.in_[i].unpack(node_.def_->name); }
  /// Saved output k; under create_graph it keeps its history, so second derivatives flow through it.
  Tensor output(size_t k = 0) const { return node_.out_[k].unpack(node_.def_->name); }
  bool needs(size_t i) const { return node_.needs_grad(i); }
  /// g summed back to input i's shape where the forward broadcast that input (OpDef::broadcast).
  Tensor reduce(size_t i, const Tensor& g) const {
    return (node_.reduce_mask_ >> i) & 1u ? autograd::sum_to(g, node_.shapes_[i]) : g;
  }
  const A& attrs() const { return node_.attrs_; }

 private:
  const OpNode<A, N, M>& node_;
  const Grads& grads_;
};

/// An op's definition: N tensor inputs, M outputs, attributes A kept on its node.
template <class A = NoAttrs, size_t N = 1, size_t M = 1>
struct OpDef {
  using Backward = Grads (*)(const Ctx<A, N, M>&);
  const char* name = nullptr;
  Saves saves{};
  /// The forward broadcasts its inputs: backward's reduce() sums gradients back to their shapes.
  bool broadcast = false;
  /// One gradient per input (undefined where !needs(i)), written with differentiable ops.
  Backward backward = nullptr;
  /// The same maths as one kernel, for the plain backward (optional).
  Backward fused = nullptr;

  /// Attaches this op's node to the outputs when grad mode is on and an input requires grad, and
  /// saves what backward reads.
  void record(const std::array<const Tensor*, N>& ins, const std::array<Tensor*, M>& outs, A attrs = {}) const {
    const uint32_t wanted = wanted_inputs(ins);
    if (!wanted) return;
    auto node = core::make_pooled<OpNode<A, N, M>>(this, std::move(attrs));
    autograd::connect(node, name, ins, outs);
    for (size_t i = 0; i < N; ++i)
      if ((saves.inputs >> i) & 1u && (!saves.for_others || (wanted & ~(1u << i)))) node->in_[i] = SavedTensor(*ins[i]);
    for (size_t k = 0; k < M; ++k)
      if ((saves.outputs >> k) & 1u) node->out_[k] = SavedTensor::output(*outs[k]);
    if (broadcast)
      for (size_t i = 0; i < N; ++i)
        if (ins[i] && ins[i]->defined() && ins[i]->shape() != outs[0]->shape()) {
          node->shapes_[i] = ins[i]->shape();
          node->reduce_mask_ |= 1u << i;
        }
  }
  /// A node of this op not yet wired into the tape, for the history nodes of views and in-place ops
  /// (src/ops/views.cpp), whose edges lead into a base's earlier history rather than to tensors.
  std::shared_ptr<OpNode<A, N, M>> make_node(A attrs = {}) const {
    return core::make_pooled<OpNode<A, N, M>>(this, std::move(attrs));
  }
  /// Bit i: input i requires grad and grad mode is on. Zero: record() attaches nothing, so an op
  /// may skip building attributes.
  static uint32_t wanted_inputs(const std::array<const Tensor*, N>& ins) {
    if (!autograd::grad_mode_enabled()) return 0;
    uint32_t wanted = 0;
    for (size_t i = 0; i < N; ++i)
      if (ins[i] && ins[i]->defined() && ins[i]->requires_grad()) wanted |= 1u << i;
    return wanted;
  }
  /// The single-output form: records and returns out.
  Tensor record(Tensor out, const std::array<const Tensor*, N>& ins, A attrs = {}) const requires(M == 1) {
    record(ins, {&out}, std::move(attrs));
    return out;
  }
};

/// The tape node of an OpDef's op.
template <class A, size_t N, size_t M>
class OpNode final : public DescribedNode {
 public:
  OpNode(const OpDef<A, N, M>* def, A attrs) : def_(def), attrs_(std::move(attrs)) {}
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override {
    if (freed_) fail<AutogradError>("{}: backward ran after its saved values were freed", def_->name);
    const Ctx<A, N, M> c(*this, grads);
    return def_->fused && !autograd::grad_mode_enabled() ? def_->fused(c) : def_->backward(c);
  }
  std::string name() const override { return def_->name; }
  NamedAttrs attributes() const override {
    if constexpr (requires(const A& a) { a.fields(); })
      return attrs_.fields();
    else if constexpr (std::is_same_v<A, bool> || std::is_integral_v<A>)
      return {{"value", static_cast<int64_t>(attrs_)}};
    else if constexpr (std::is_floating_point_v<A>)
      return {{"value", static_cast<double>(attrs_)}};
    else if constexpr (std::is_same_v<A, Scalar>)
      return {{"value", attrs_.to_double()}};
    else
      return {};
  }
  void release_variables() override {
    in_ = {};
    out_ = {};
    freed_ = true;
  }

 private:
  friend struct OpDef<A, N, M>;
  friend class Ctx<A, N, M>;
  const OpDef<A, N, M>* def_;
  A attrs_;
  std::array<SavedTensor, N> in_;
  std::array<SavedTensor, M> out_;
  std::array<Shape, N> shapes_;
  uint32_t reduce_mask_ = 0;
  bool freed_ = false;
};

// ---------------------------------------------------------------- ops over a list of tensors

template <class A>
struct ListOpDef;

/// The tape node of a ListOpDef's op, and what its backward formula is given (with the output's
/// gradient).
template <class A>
class ListOpNode final : public DescribedNode {
 public:
  ListOpNode(const ListOpDef<A>* def, A attrs) : def_(def), attrs_(std::move(attrs)) {}
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override { return def_->backward(*this, grads[0]); }
  std::string name() const override { return def_->name; }
  NamedAttrs attributes() const override { return attrs_.fields(); }
  bool needs(size_t i) const { return needs_grad(i); }
  const A& attrs() const { return attrs_; }

 private:
  const ListOpDef<A>* def_;
  A attrs_;
};

/// An op over a run-time number of inputs and one output (cat): its name and one backward formula
/// giving a gradient per input. Its backward reads no saved tensor, only its attributes.
template <class A>
struct ListOpDef {
  using Backward = Grads (*)(const ListOpNode<A>&, const Tensor& grad);
  const char* name = nullptr;
  Backward backward = nullptr;

  Tensor record(Tensor out, const std::vector<Tensor>& ins, A attrs) const {
    if (!autograd::grad_mode_enabled() || !autograd::any_requires_grad(ins)) return out;
    std::vector<const Tensor*> ptrs;
    ptrs.reserve(ins.size());
    for (const Tensor& t : ins) ptrs.push_back(&t);
    Tensor* outs[] = {&out};
    autograd::connect(core::make_pooled<ListOpNode<A>>(this, std::move(attrs)), name, ptrs, outs);
    return out;
  }
};

// ---------------------------------------------------------------- the registry

namespace detail {
template <class P>
P attr_as(const Attr& a, const char* op) {
  if constexpr (std::is_same_v<P, double>) {
    if (const auto* d = std::get_if<double>(&a)) return *d;
    if (const auto* i = std::get_if<int64_t>(&a)) return static_cast<double>(*i);
  } else if constexpr (std::is_same_v<P, bool>) {
    if (const auto* b = std::get_if<bool>(&a)) return *b;
  } else if constexpr (std::is_integral_v<P>) {
    if (const auto* i = std::get_if<int64_t>(&a)) return static_cast<P>(*i);
  } else if constexpr (std::is_same_v<P, Scalar>) {
    if (const auto* d = std::get_if<double>(&a)) return Scalar(*d);
    if (const auto* i = std::get_if<int64_t>(&a)) return Scalar(*i);
    if (const auto* b = std::get_if<bool>(&a)) return Scalar(*b);
  } else if constexpr (std::is_same_v<P, std::string> || std::is_same_v<P, std::vector<int64_t>>) {
    if (const auto* v = std::get_if<P>(&a)) return *v;
  } else {
    static_assert(sizeof(P) == 0, "expose(): an argument type the registry cannot pass");
  }
  fail<ValueError>("{}: an attribute has the wrong kind for its parameter", op);
}

/// Takes the next tensor or attribute for a parameter of type P.
template <class P>
P take(const char* op, const std::vector<Tensor>& ts, size_t& ti, const std::vector<Attr>& as, size_t& ai) {
  if constexpr (std::is_same_v<P, Tensor>) {
    if (ti >= ts.size()) fail<ValueError>("{}: called with {} tensors, needs more", op, ts.size());
    return ts[ti++];
  } else {
    if (ai >= as.size()) fail<ValueError>("{}: called with {} attributes, needs more", op, as.size());
    return attr_as<P>(as[ai++], op);
  }
}
}  // namespace detail

/// Registers fn (the op's public function) under def's name, with its tensor arguments and other
/// arguments named as PyTorch names them, in fn's parameter order (tensors first).
template <class A, size_t N, size_t M, class R, class... P>
OpInfo expose(const OpDef<A, N, M>& def, R (*fn)(P...), std::vector<std::string> inputs,
              std::vector<std::string> attrs = {}, std::vector<Attr> sample_attrs = {}) {
  OpInfo info;
  info.name = def.name;
  info.inputs = std::move(inputs);
  info.attrs = std::move(attrs);
  info.sample_attrs = std::move(sample_attrs);
  info.fused = def.fused != nullptr;
  const char* op = def.name;
  info.call = [fn, op](const std::vector<Tensor>& ts, const std::vector<Attr>& as) -> std::vector<Tensor> {
    size_t ti = 0, ai = 0;
    // A braced list evaluates left to right, so arguments are taken in parameter order.
    std::tuple<std::decay_t<P>...> args{detail::take<std::decay_t<P>>(op, ts, ti, as, ai)...};
    R r = std::apply(fn, std::move(args));
    if constexpr (std::is_same_v<R, Tensor>)
      return {std::move(r)};
    else
      return r;
  };
  return info;
}

/// expose() with the input shapes the generated checks use.
inline OpInfo shaped(OpInfo info, std::vector<Shape> shapes) {
  info.sample_shapes = std::move(shapes);
  return info;
}

/// expose() with the range of inputs the generated checks draw from.
inline OpInfo within(OpInfo info, double lo, double hi) {
  info.lo = lo;
  info.hi = hi;
  return info;
}

}  // namespace xg::ops
