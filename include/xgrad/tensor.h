#pragma once
/// The Tensor handle and the core factories. Ops live in the family headers under xgrad/ops/.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xgrad/dtype.h"
#include "xgrad/error.h"
#include "xgrad/promotion.h"
#include "xgrad/scalar.h"

namespace xg {

using Shape = std::vector<int64_t>;

class Tensor;
class Generator;
struct TensorImpl;
namespace autograd {
class Node;
/// Rebuilds a view's grad_fn after its base's history was rewritten by an in-place op. The ops layer,
/// which makes views and rewrites histories, registers how (set_view_history_refresher); core calls it.
void refresh_view_history(TensorImpl& view);
using ViewHistoryRefresher = void (*)(TensorImpl& view);
void set_view_history_refresher(ViewHistoryRefresher f);
}  // namespace autograd

/// A block of memory shared by a tensor and all its views. The version counter lives here so
/// that an in-place change through any view is seen by autograd's saved-tensor check.
struct Storage {
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  uint64_t version_ = 0;
  /// Set for memory xgrad does not own (from_blob); otherwise the caching allocator frees it.
  std::function<void(void*)> deleter_;

  Storage(size_t nbytes);
  Storage(void* data, size_t nbytes, std::function<void(void*)> deleter);
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();
};

/// Gradient hook: sees a gradient and may return a replacement (an undefined Tensor keeps it).
using GradHook = std::function<Tensor(const Tensor&)>;

/// What a Tensor handle points to: storage, view geometry, and autograd bookkeeping.
struct TensorImpl {
  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Shape strides_;  ///< in elements
  int64_t offset_ = 0;
  int64_t numel_ = 0;
  DType dtype_ = DType::float32;
  bool requires_grad_ = false;
  bool retains_grad_ = false;
  uint32_t output_nr_ = 0;
  std::shared_ptr<TensorImpl> grad_;
  std::shared_ptr<autograd::Node> grad_fn_;
  /// Weak, so that a leaf and its accumulator node form no reference cycle.
  std::weak_ptr<autograd::Node> grad_accumulator_;
  /// Gradient hooks of a leaf (a non-leaf's hooks live on its grad_fn).
  std::vector<GradHook> hooks_;
  /// For a view: the tensor whose memory it shows (never itself a view). An in-place write through
  /// the view rewrites the base's history, so gradients reach everything the base came from.
  std::shared_ptr<TensorImpl> base_;
  /// Counts the in-place ops that gave this tensor a new history. A view that saw another count
  /// on its base rebuilds its own grad_fn from the base's (see refresh_view_history).
  uint32_t history_version_ = 0;
  uint32_t base_history_seen_ = 0;
  /// A view taken while grad mode was off: never tracked, and refused as an in-place target while
  /// grad mode is on and its base requires grad (as PyTorch does).
  bool view_no_grad_ = false;

  TensorImpl() = default;
  TensorImpl(const TensorImpl&) = delete;
  TensorImpl& operator=(const TensorImpl&) = delete;
  /// Releases grad_fn_ without recursion, so a 100,000-op chain frees without overflowing the stack.
  ~TensorImpl();
};

/// A cheap handle (one shared_ptr) on shared storage: copying a Tensor never copies data, and
/// views (reshape, transpose, slice, expand, …) share their base's storage.
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool is_same(const Tensor& o) const { return impl_ == o.impl_; }

  // ---- geometry
  const Shape& shape() const { return checked().shape_; }
  const Shape& sizes() const { return shape(); }
  const Shape& strides() const { return checked().strides_; }
  int64_t offset() const { return checked().offset_; }
  int64_t dim() const { return static_cast<int64_t>(checked().shape_.size()); }
  int64_t size(int64_t d) const;
  int64_t numel() const { return checked().numel_; }
  DType dtype() const { return checked().dtype_; }
  bool is_contiguous() const;
  size_t nbytes() const { return static_cast<size_t>(numel()) * element_size(dtype()); }

  // ---- raw access (for kernels, interop and tests)
  /// Pointer to the first element (storage + offset). T must match dtype().
  template <class T>
  T* data() const;
  void* raw_data() const;
  /// Element at a multi-index, converted to double (tests and debugging; slow).
  double at(std::initializer_list<int64_t> idx) const;
  double at(const Shape& idx) const;
  /// The value of a one-element tensor.
  double item() const;
  /// The value as a number of the tensor's kind (int64 exactly, beyond 2^53 too).
  Scalar item_scalar() const;
  /// The value converted as Scalar::to converts (float to int64 truncates; NaN gives INT64_MIN).
  template <class T>
  T item() const {
    return item_scalar().to<T>();
  }
  /// Copies the elements out in row-major order, converted to T.
  template <class T>
  std::vector<T> to_vector() const;

  // ---- conversion and copies
  Tensor to(DType d) const;
  Tensor contiguous() const;
  Tensor clone() const;

  // ---- autograd
  bool requires_grad() const { return fresh().requires_grad_; }
  /// Marks a leaf as needing gradients. Errors on a non-leaf (set it on the leaf instead).
  Tensor& requires_grad_(bool on = true);
  bool is_leaf() const { return fresh().grad_fn_ == nullptr; }
  const std::shared_ptr<autograd::Node>& grad_fn() const { return fresh().grad_fn_; }
  /// Whether this tensor is a view of another (shares its memory and its history).
  bool is_view() const { return checked().base_ != nullptr; }
  /// The tensor this one is a view of (undefined when it is not a view).
  Tensor base() const { return Tensor(checked().base_); }
  /// The accumulated gradient (undefined until a backward reaches this leaf).
  Tensor grad() const;
  void set_grad(const Tensor& g);
  /// Sets grad to undefined (set_to_none, the default) or to zeros.
  void zero_grad(bool set_to_none = true);
  /// Keeps the gradient of a non-leaf in grad() after backward.
  void retain_grad();
  /// Same data, cut from the graph.
  Tensor detach() const;
  /// Backpropagates from this tensor; a scalar needs no gradient argument.
  void backward(const Tensor& grad_output = Tensor(), bool retain_graph = false, bool create_graph = false) const;
  /// Registers a hook that sees (and may replace) the gradient with respect to this tensor.
  void register_hook(GradHook hook) const;
  uint64_t version() const { return checked().storage_->version_; }
  /// Records an in-place change (called by in-place ops; tensors saved for backward compare it).
  void bump_version() const { ++checked().storage_->version_; }

  // ---- common views (free functions in ops/shape.h hold the full set)
  Tensor reshape(const Shape& s) const;
  Tensor view(const Shape& s) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor permute(const Shape& dims) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor t() const { return transpose(0, 1); }
  Tensor narrow(int64_t d, int64_t start, int64_t length) const;
  Tensor slice(int64_t d, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t d, int64_t index) const;
  Tensor squeeze(int64_t d) const;
  Tensor squeeze() const;
  Tensor unsqueeze(int64_t d) const;
  Tensor expand(const Shape& s) const;
  /// Windows of `size` elements every `step` along dimension, as a new last dim (a view).
  Tensor unfold(int64_t dimension, int64_t size, int64_t step) const;
  /// x[i] along the first dimension.
  Tensor operator[](int64_t i) const { return select(0, i); }

  // ---- common maths as methods (the free functions are the primary form)
  Tensor sum() const;
  Tensor mean() const;
  Tensor sum(const Shape& dims, bool keepdim = false) const;
  Tensor mean(const Shape& dims, bool keepdim = false) const;
  Tensor exp() const;
  Tensor log() const;
  Tensor pow(Scalar e) const;
  Tensor abs() const;
  Tensor sqrt() const;
  Tensor relu() const;
  Tensor sigmoid() const;
  Tensor tanh() const;
  Tensor argmax(int64_t d, bool keepdim = false) const;
  Tensor matmul(const Tensor& o) const;

  // ---- in-place ops (bump the version; error on a leaf that requires grad unless grad mode is off).
  // The result type of the op (result_type of self and the other operands) must be castable to
  // self's dtype (can_cast: no float into an integer tensor, no number into bool), else DTypeError.
  Tensor& add_(const Tensor& o, Scalar alpha = 1);
  Tensor& sub_(const Tensor& o, Scalar alpha = 1);
  Tensor& mul_(const Tensor& o);
  Tensor& div_(const Tensor& o);
  Tensor& add_(Scalar v);
  Tensor& sub_(Scalar v);
  Tensor& mul_(Scalar v);
  Tensor& div_(Scalar v);
  Tensor& zero_();
  /// Casts v to this tensor's dtype (2.5 into int64 gives 2), as PyTorch.
  Tensor& fill_(Scalar v);
  /// Casts src to this tensor's dtype (floats into int64 truncate toward zero; NaN and values out
  /// of range give INT64_MIN), as PyTorch.
  Tensor& copy_(const Tensor& src);
  /// Refills with draws (from `gen`, or the global generator): normal(mean, std), uniform [low, high),
  /// or 1 with probability p (PyTorch's normal_, uniform_, bernoulli_). Float tensors only, except
  /// bernoulli_, which fills any dtype with 0 and 1.
  Tensor& normal_(double mean = 0.0, double std = 1.0, Generator* gen = nullptr);
  Tensor& uniform_(double low = 0.0, double high = 1.0, Generator* gen = nullptr);
  Tensor& bernoulli_(double p = 0.5, Generator* gen = nullptr);
  /// A missing bound (nullopt or NaN) is not applied.
  Tensor& clamp_(std::optional<Scalar> lo, std::optional<Scalar> hi);
  Tensor& relu_();
  Tensor& sigmoid_();
  Tensor& tanh_();
  Tensor& neg_();

  /// PyTorch-style repr: values (elided when large), shape and dtype.
  std::string to_string() const;

 private:
  TensorImpl& checked() const;
  /// checked(), with a view's history brought up to date first.
  TensorImpl& fresh() const {
    TensorImpl& i = checked();
    if (i.base_ && i.base_->history_version_ != i.base_history_seen_) [[unlikely]]
      autograd::refresh_view_history(i);
    return i;
  }
  std::shared_ptr<TensorImpl> impl_;
};

// ---- factories (the dtype defaults to get_default_dtype(), read at each call; a shape whose element count
// or strides do not fit in int64, or whose bytes would not fit in memory, is an error naming the factory
// and the shape)
Tensor empty(const Shape& shape, DType dtype = get_default_dtype());
Tensor zeros(const Shape& shape, DType dtype = get_default_dtype());
Tensor ones(const Shape& shape, DType dtype = get_default_dtype());
/// value is cast to dtype (int64 values exactly).
Tensor full(const Shape& shape, Scalar value, DType dtype = get_default_dtype());
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor empty_like(const Tensor& t);
Tensor full_like(const Tensor& t, Scalar value);
/// A 0-d tensor (a tensor in type promotion: use a plain number for a Python-style scalar operand).
Tensor scalar(Scalar value, DType dtype = get_default_dtype());
/// Values start, start+step, … below end (like Python's range).
Tensor arange(double start, double end, double step = 1.0, DType dtype = get_default_dtype());
Tensor arange(int64_t end, DType dtype = kInt64);
Tensor linspace(double start, double end, int64_t steps, DType dtype = get_default_dtype());
Tensor eye(int64_t n, DType dtype = get_default_dtype());
/// Copies values into a new tensor of the given shape (numel must match).
Tensor from_vector(const std::vector<float>& v, const Shape& shape);
Tensor from_vector(const std::vector<double>& v, const Shape& shape);
Tensor from_vector(const std::vector<int64_t>& v, const Shape& shape);
Tensor from_vector(const std::vector<bool>& v, const Shape& shape);
/// A tensor literal: a number, or a braced list of literals of one shape (`{1, 2}`, `{{1, 2}, {3, 4}}`),
/// remembering whether its numbers were written as bool, integer or floating point. A ragged list
/// ({{1, 2}, {3}}) is a ShapeError.
class Literal {
 public:
  template <Arithmetic T>
  Literal(T v) : values_{Scalar(v)} {}
  Literal(std::initializer_list<Literal> items);
  const Shape& shape() const { return shape_; }
  const std::vector<Scalar>& values() const { return values_; }
  /// PyTorch's inference: bool when every number is a bool, the default float dtype when any is
  /// floating point, else int64.
  DType dtype() const;

 private:
  Shape shape_;
  std::vector<Scalar> values_;
};
/// torch.tensor: `tensor({1.0, 2.0})` is float32 (the default dtype), `tensor({1, 2, 3})` int64,
/// `tensor({true, false})` bool, `tensor({{1, 2}, {3, 4}})` 2-D (3-D likewise). A shape reshapes the
/// values (their count must match); a one-element flat list without a shape is 0-d (xgrad's rule
/// before literals nested; PyTorch gives [1]). The dtype argument converts the values.
Tensor tensor(const Literal& data, const Shape& shape = {});
Tensor tensor(const Literal& data, const Shape& shape, DType dtype);
Tensor tensor(const Literal& data, DType dtype);
/// Wraps memory xgrad does not own, without copying. contiguous strides unless given; the deleter
/// (may be empty) runs when the last view goes.
Tensor from_blob(void* data, const Shape& shape, DType dtype, const Shape& strides = {},
                 std::function<void(void*)> deleter = {});

// ---- random (reproducible for a seed; uses the global generator unless one is passed)
Tensor rand(const Shape& shape, DType dtype = get_default_dtype(), Generator* gen = nullptr);
Tensor randn(const Shape& shape, DType dtype = get_default_dtype(), Generator* gen = nullptr);
Tensor uniform(const Shape& shape, double low, double high, DType dtype = get_default_dtype(),
               Generator* gen = nullptr);
Tensor normal(const Shape& shape, double mean, double std, DType dtype = get_default_dtype(), Generator* gen = nullptr);
/// Integers in [low, high).
Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator* gen = nullptr);
/// A random permutation of 0..n-1 (int64).
Tensor randperm(int64_t n, Generator* gen = nullptr);

// ---- shape helpers
/// Element count. A ShapeError when the sizes, zeros counted as ones, multiply past INT64_MAX (then a
/// stride would not fit either), so no count or stride of a tensor ever wraps around.
int64_t shape_numel(const Shape& s);
std::string shape_str(const Shape& s);
/// Row-major strides, checked as shape_numel.
Shape contiguous_strides(const Shape& s);
/// Wraps a possibly negative dim into [0, ndim); errors name the op.
int64_t wrap_dim(int64_t d, int64_t ndim, const char* op);
/// The broadcast of two shapes (NumPy rules) or a ShapeError naming op and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace xg

template <>
struct fmt::formatter<xg::Tensor> : fmt::formatter<std::string> {
  auto format(const xg::Tensor& t, format_context& ctx) const {
    return fmt::formatter<std::string>::format(t.to_string(), ctx);
  }
};
