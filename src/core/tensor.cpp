#include "xgrad/tensor.h"
#include "core/pool.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/alias.h"
#include "core/allocator.h"
#include "core/dispatch.h"
#include "core/sizes.h"
#include "kernels/copy.h"
#include "xgrad/autograd.h"
#include "xgrad/ops/activation.h"
#include "xgrad/ops/elementwise.h"
#include "xgrad/ops/matmul.h"
#include "xgrad/ops/reduction.h"
#include "xgrad/ops/shape.h"
#include "xgrad/random.h"

namespace xg {

// ---------------------------------------------------------------- storage and impl

Storage::Storage(size_t nbytes) : data_(core::cached_alloc(nbytes)), nbytes_(nbytes) {}
Storage::Storage(void* data, size_t nbytes, std::function<void(void*)> deleter)
    : data_(data), nbytes_(nbytes), deleter_(std::move(deleter)) {
  if (!deleter_) deleter_ = [](void*) {};
}
Storage::~Storage() {
  if (deleter_)
    deleter_(data_);
  else
    core::cached_free(data_, nbytes_);
}

namespace autograd {
void release_node(std::shared_ptr<Node>&& n);
}
TensorImpl::~TensorImpl() { autograd::release_node(std::move(grad_fn_)); }

// ---------------------------------------------------------------- shape helpers

namespace {
/// The sizes of s, zeros counted as ones, multiplied; false past INT64_MAX. Every stride and
/// partial product of a shape is at most this span.
bool span_fits(const Shape& s) {
  int64_t span = 1;
  for (auto d : s)
    if (!core::mul_size(span, std::max<int64_t>(d, 1), span)) return false;
  return true;
}
[[noreturn]] void too_large(const Shape& s, const char* op) {
  fail<ShapeError>("{}: shape {} is too large: its element count (or a stride) does not fit in int64", op,
                   shape_str(s));
}
}  // namespace

int64_t shape_numel(const Shape& s) {
  if (!span_fits(s)) too_large(s, "shape_numel");
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& s) {
  if (!span_fits(s)) too_large(s, "contiguous_strides");
  Shape st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= std::max<int64_t>(s[i], 1);
  }
  return st;
}

std::string shape_str(const Shape& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

namespace core {

int64_t checked_numel(const Shape& shape, const char* op) {
  for (auto d : shape)
    if (d < 0) fail<ShapeError>("{}: cannot create a tensor of shape {}: negative size", op, shape_str(shape));
  if (!span_fits(shape)) too_large(shape, op);
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

size_t checked_nbytes(const Shape& shape, DType dtype, const char* op) {
  const auto numel = static_cast<uint64_t>(checked_numel(shape, op));
  if (numel > kMaxTensorBytes / element_size(dtype))
    fail<Error>("{}: a {} tensor of shape {} would take {} elements x {} bytes, more than fits in memory", op,
                dtype_name(dtype), shape_str(shape), numel, element_size(dtype));
  return static_cast<size_t>(numel) * element_size(dtype);
}

}  // namespace core

int64_t wrap_dim(int64_t d, int64_t ndim, const char* op) {
  const int64_t n = std::max<int64_t>(ndim, 1);
  if (d < -n || d >= n)
    fail<IndexError>("{}: dimension {} out of range for a tensor of {} dims (expected in [{}, {}])", op, d, ndim, -n,
                     n - 1);
  return d < 0 ? d + n : d;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      fail<ShapeError>("{}: shapes {} and {} cannot be broadcast (dim {}: {} vs {})", op, shape_str(a), shape_str(b), i,
                       da, db);
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// ---------------------------------------------------------------- Tensor basics

TensorImpl& Tensor::checked() const {
  if (!impl_) fail<Error>("operation on an undefined tensor (default-constructed or moved-from)");
  return *impl_;
}

int64_t Tensor::size(int64_t d) const {
  if (dim() == 0) fail<IndexError>("size: dimension {} requested of a 0-d tensor", d);
  return shape()[static_cast<size_t>(wrap_dim(d, dim(), "size"))];
}

bool Tensor::is_contiguous() const {
  const auto& s = shape();
  const auto& st = strides();
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    if (s[i] != 1 && st[i] != acc) return false;
    acc *= s[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  auto& i = checked();
  return static_cast<char*>(i.storage_->data_) + i.offset_ * static_cast<int64_t>(element_size(i.dtype_));
}

template <class T>
T* Tensor::data() const {
  if (dtype() != dtype_of<T>::value)
    fail<DTypeError>("data<{}>(): tensor has dtype {}", dtype_name(dtype_of<T>::value), dtype_name(dtype()));
  return static_cast<T*>(raw_data());
}
template float* Tensor::data<float>() const;
template double* Tensor::data<double>() const;
template int64_t* Tensor::data<int64_t>() const;
template bool* Tensor::data<bool>() const;

double Tensor::at(const Shape& idx) const {
  if (static_cast<int64_t>(idx.size()) != dim())
    fail<IndexError>("at: index of {} dims for a tensor of shape {}", idx.size(), shape_str(shape()));
  int64_t off = 0;
  for (size_t d = 0; d < idx.size(); ++d) {
    int64_t i = idx[d] < 0 ? idx[d] + shape()[d] : idx[d];
    if (i < 0 || i >= shape()[d])
      fail<IndexError>("at: index {} out of range for dim {} of size {}", idx[d], d, shape()[d]);
    off += i * strides()[d];
  }
  return core::dispatch_all(dtype(),
                            [&]<class T>() { return static_cast<double>(static_cast<const T*>(raw_data())[off]); });
}
double Tensor::at(std::initializer_list<int64_t> idx) const { return at(Shape(idx)); }

double Tensor::item() const {
  if (numel() != 1)
    fail<ValueError>("item: tensor of shape {} has {} elements, expected 1", shape_str(shape()), numel());
  return core::dispatch_all(dtype(),
                            [&]<class T>() { return static_cast<double>(*static_cast<const T*>(raw_data())); });
}

Scalar Tensor::item_scalar() const {
  if (numel() != 1)
    fail<ValueError>("item: tensor of shape {} has {} elements, expected 1", shape_str(shape()), numel());
  return core::dispatch_all(dtype(), [&]<class T>() { return Scalar(*static_cast<const T*>(raw_data())); });
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor c = to(dtype_of<T>::value).contiguous();
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<bool> Tensor::to_vector<bool>() const;

// ---------------------------------------------------------------- factories

namespace {
/// A contiguous tensor of shape; `op` names the caller in size and memory errors.
std::shared_ptr<TensorImpl> new_impl(const Shape& shape, DType dtype, const char* op) {
  const size_t nbytes = core::checked_nbytes(shape, dtype, op);
  auto impl = core::make_pooled<TensorImpl>();
  impl->numel_ = shape_numel(shape);
  try {
    impl->storage_ = core::make_pooled<Storage>(nbytes);
  } catch (const Error& e) {
    fail<Error>("{}: cannot allocate a {} tensor of shape {}: {}", op, dtype_name(dtype), shape_str(shape), e.what());
  }
  impl->shape_ = shape;
  impl->strides_ = contiguous_strides(shape);
  impl->dtype_ = dtype;
  return impl;
}
Tensor filled(const Shape& shape, Scalar value, DType dtype, const char* op) {
  Tensor t(new_impl(shape, dtype, op));
  kernels::fill(t, value);
  return t;
}
}  // namespace

Tensor empty(const Shape& shape, DType dtype) { return Tensor(new_impl(shape, dtype, "empty")); }

Tensor full(const Shape& shape, Scalar value, DType dtype) { return filled(shape, value, dtype, "full"); }
Tensor zeros(const Shape& shape, DType dtype) {
  Tensor t(new_impl(shape, dtype, "zeros"));
  std::memset(t.raw_data(), 0, t.nbytes());
  return t;
}
Tensor ones(const Shape& shape, DType dtype) { return filled(shape, Scalar(int64_t{1}), dtype, "ones"); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype()); }
Tensor full_like(const Tensor& t, Scalar value) { return full(t.shape(), value, t.dtype()); }
Tensor scalar(Scalar value, DType dtype) { return full({}, value, dtype); }

Tensor arange(double start, double end, double step, DType dtype) {
  if (step == 0) fail<ValueError>("arange: step must be non-zero");
  const double n = std::ceil((end - start) / step);
  if (!std::isfinite(n)) fail<ValueError>("arange: non-finite range [{}, {}) step {}", start, end, step);
  // 2^63 itself does not convert: the cast of a larger double is undefined (it gave 0 elements).
  if (n >= 0x1p63)
    fail<ValueError>("arange: [{}, {}) in steps of {} has {} elements, more than fit in int64", start, end, step, n);
  const int64_t count = std::max<int64_t>(0, static_cast<int64_t>(n));
  Tensor t(new_impl({count}, dtype, "arange"));
  core::dispatch_all(dtype, [&]<class T>() {
    T* p = t.data<T>();
    for (int64_t i = 0; i < count; ++i) p[i] = static_cast<T>(start + static_cast<double>(i) * step);
  });
  return t;
}
Tensor arange(int64_t end, DType dtype) { return arange(0.0, static_cast<double>(end), 1.0, dtype); }

Tensor linspace(double start, double end, int64_t steps, DType dtype) {
  if (steps < 0) fail<ValueError>("linspace: steps must be >= 0, got {}", steps);
  Tensor t(new_impl({steps}, dtype, "linspace"));
  const double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  core::dispatch_all(dtype, [&]<class T>() {
    T* p = t.data<T>();
    // Fill from both ends, as PyTorch does, so the last value is exactly `end` (one step: `start`).
    const int64_t half = steps == 1 ? 1 : steps / 2;
    for (int64_t i = 0; i < steps; ++i)
      p[i] = static_cast<T>(i < half ? start + step * static_cast<double>(i)
                                     : end - step * static_cast<double>(steps - 1 - i));
  });
  return t;
}

Tensor eye(int64_t n, DType dtype) {
  Tensor t(new_impl({n, n}, dtype, "eye"));
  std::memset(t.raw_data(), 0, t.nbytes());
  core::dispatch_all(dtype, [&]<class T>() {
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) p[i * n + i] = T(1);
  });
  return t;
}

namespace {
template <class T, class V>
Tensor from_values(const V& v, const Shape& shape) {
  const int64_t numel = core::checked_numel(shape, "from_vector");
  if (static_cast<int64_t>(v.size()) != numel)
    fail<ShapeError>("from_vector: {} values do not fill shape {} ({} elements)", v.size(), shape_str(shape), numel);
  Tensor t = empty(shape, dtype_of<T>::value);
  T* p = t.data<T>();
  size_t i = 0;
  for (auto x : v) p[i++] = static_cast<T>(x);
  return t;
}
}  // namespace

Tensor from_vector(const std::vector<float>& v, const Shape& shape) { return from_values<float>(v, shape); }
Tensor from_vector(const std::vector<double>& v, const Shape& shape) { return from_values<double>(v, shape); }
Tensor from_vector(const std::vector<int64_t>& v, const Shape& shape) { return from_values<int64_t>(v, shape); }
Tensor from_vector(const std::vector<bool>& v, const Shape& shape) { return from_values<bool>(v, shape); }
Tensor tensor(std::initializer_list<float> v, const Shape& shape) {
  const Shape s = shape.empty() && v.size() != 1 ? Shape{static_cast<int64_t>(v.size())} : shape;
  return core::dispatch_float(get_default_dtype(), "tensor", [&]<class T>() { return from_values<T>(v, s); });
}
Tensor tensor(std::initializer_list<double> v, const Shape& shape, DType dtype) {
  return core::dispatch_all(dtype, [&]<class T>() { return from_values<T>(v, shape); });
}

Tensor from_blob(void* data, const Shape& shape, DType dtype, const Shape& strides,
                 std::function<void(void*)> deleter) {
  const int64_t numel = core::checked_numel(shape, "from_blob");
  Shape st = strides.empty() ? contiguous_strides(shape) : strides;
  if (st.size() != shape.size())
    fail<ShapeError>("from_blob: strides {} do not match shape {}", shape_str(st), shape_str(shape));
  if (!data && numel > 0) fail<ValueError>("from_blob: null data for shape {}", shape_str(shape));
  // The elements reach 1 + sum (size - 1) * stride into the memory: checked, as strides may be anything.
  int64_t extent = numel > 0 ? 1 : 0;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (st[i] < 0) fail<ShapeError>("from_blob: negative stride in {}", shape_str(st));
    int64_t reach = 0;
    if (numel > 0 && (!core::mul_size(shape[i] - 1, st[i], reach) || !core::add_size(extent, reach, extent) ||
                      static_cast<uint64_t>(extent) > core::kMaxTensorBytes / element_size(dtype)))
      fail<ShapeError>("from_blob: shape {} with strides {} reaches past any memory", shape_str(shape), shape_str(st));
  }
  auto impl = core::make_pooled<TensorImpl>();
  impl->storage_ =
      core::make_pooled<Storage>(data, static_cast<size_t>(extent) * element_size(dtype), std::move(deleter));
  impl->shape_ = shape;
  impl->strides_ = st;
  impl->numel_ = numel;
  impl->dtype_ = dtype;
  return Tensor(impl);
}

// ---------------------------------------------------------------- random

namespace {
template <class G>
Tensor fill_random(const Shape& shape, DType dtype, Generator* gen, const char* op, G draw) {
  Tensor t(new_impl(shape, dtype, op));
  GeneratorLock lock(gen);
  Generator& g = *lock;
  core::dispatch_float(dtype, op, [&]<class T>() {
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(draw(g));
  });
  return t;
}
Tensor uniform_impl(const Shape& shape, double low, double high, DType dtype, Generator* gen, const char* op) {
  if (!(low <= high)) fail<ValueError>("{}: low ({}) must not exceed high ({})", op, low, high);
  return fill_random(shape, dtype, gen, op, [&](Generator& g) { return low + (high - low) * g.next_double(); });
}
Tensor normal_impl(const Shape& shape, double mean, double std, DType dtype, Generator* gen, const char* op) {
  if (!(std >= 0)) fail<ValueError>("{}: std must be >= 0, got {}", op, std);
  return fill_random(shape, dtype, gen, op, [&](Generator& g) { return mean + std * g.next_normal(); });
}
}  // namespace

Tensor uniform(const Shape& shape, double low, double high, DType dtype, Generator* gen) {
  return uniform_impl(shape, low, high, dtype, gen, "uniform");
}
Tensor rand(const Shape& shape, DType dtype, Generator* gen) {
  return uniform_impl(shape, 0.0, 1.0, dtype, gen, "rand");
}
Tensor normal(const Shape& shape, double mean, double std, DType dtype, Generator* gen) {
  return normal_impl(shape, mean, std, dtype, gen, "normal");
}
Tensor randn(const Shape& shape, DType dtype, Generator* gen) {
  return normal_impl(shape, 0.0, 1.0, dtype, gen, "randn");
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator* gen) {
  if (high <= low) fail<ValueError>("randint: high ({}) must exceed low ({})", high, low);
  Tensor t(new_impl(shape, kInt64, "randint"));
  GeneratorLock lock(gen);
  Generator& g = *lock;
  // In uint64, where high - low and low + draw wrap as they should (in int64 they could overflow).
  const uint64_t range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  int64_t* p = t.data<int64_t>();
  for (int64_t i = 0; i < t.numel(); ++i)
    p[i] = static_cast<int64_t>(static_cast<uint64_t>(low) + g.next_u64() % range);
  return t;
}

Tensor randperm(int64_t n, Generator* gen) {
  if (n < 0) fail<ValueError>("randperm: n must be >= 0, got {}", n);
  Tensor t = arange(n, kInt64);
  GeneratorLock lock(gen);
  Generator& g = *lock;
  int64_t* p = t.data<int64_t>();
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(p[i], p[static_cast<int64_t>(g.next_u64() % static_cast<uint64_t>(i + 1))]);
  return t;
}

// ---------------------------------------------------------------- conversion and copies

Tensor Tensor::to(DType d) const {
  if (d == dtype()) return *this;
  Tensor out = empty(shape(), d);
  kernels::copy(*this, out);
  if (is_floating(d) && is_floating(dtype())) {
    if (auto node = autograd::record("to", {this}, {&out}))
      node->fn_ = [src = dtype()](const autograd::Grads& g, const autograd::Node&) -> autograd::Grads {
        return {g[0].to(src)};
      };
  }
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype());
  kernels::copy(*this, out);
  if (auto node = autograd::record("clone", {this}, {&out}))
    node->fn_ = [](const autograd::Grads& g, const autograd::Node&) -> autograd::Grads { return {g[0]}; };
  return out;
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

// ---------------------------------------------------------------- autograd surface

Tensor& Tensor::requires_grad_(bool on) {
  auto& i = checked();
  if (i.grad_fn_)
    fail<AutogradError>(
        "requires_grad_: only leaf tensors can be set; this tensor is the result of '{}' (use detach())",
        i.grad_fn_->name());
  if (on && !is_floating(i.dtype_))
    fail<DTypeError>("requires_grad_: only floating tensors can require gradients, got {}", dtype_name(i.dtype_));
  i.requires_grad_ = on;
  return *this;
}

Tensor Tensor::grad() const {
  auto& i = checked();
  return i.grad_ ? Tensor(i.grad_) : Tensor();
}

void Tensor::set_grad(const Tensor& g) {
  if (g.defined() && g.shape() != shape())
    fail<ShapeError>("set_grad: gradient of shape {} for a tensor of shape {}", shape_str(g.shape()),
                     shape_str(shape()));
  checked().grad_ = g.impl_ptr();
}

void Tensor::zero_grad(bool set_to_none) {
  auto& i = checked();
  if (!i.grad_) return;
  if (set_to_none) {
    i.grad_.reset();
  } else {
    Tensor g(i.grad_);
    g = g.detach();
    g.zero_();
  }
}

Tensor Tensor::detach() const {
  checked();
  return core::alias(*this);
}

Tensor core::alias(const Tensor& t, Shape shape, Shape strides, int64_t offset) {
  auto impl = core::make_pooled<TensorImpl>();
  impl->storage_ = t.impl()->storage_;
  impl->numel_ = shape_numel(shape);
  impl->shape_ = std::move(shape);
  impl->strides_ = std::move(strides);
  impl->offset_ = offset;
  impl->dtype_ = t.dtype();
  return Tensor(impl);
}

Tensor core::alias(const Tensor& t) { return alias(t, t.shape(), t.strides(), t.offset()); }

void Tensor::backward(const Tensor& grad_output, bool retain_graph, bool create_graph) const {
  std::vector<Tensor> gs;
  if (grad_output.defined()) gs.push_back(grad_output);
  autograd::backward({*this}, gs, retain_graph, create_graph);
}

// ---------------------------------------------------------------- method forms of ops

Tensor Tensor::reshape(const Shape& s) const { return xg::reshape(*this, s); }
Tensor Tensor::view(const Shape& s) const { return xg::view(*this, s); }
Tensor Tensor::flatten(int64_t a, int64_t b) const { return xg::flatten(*this, a, b); }
Tensor Tensor::permute(const Shape& d) const { return xg::permute(*this, d); }
Tensor Tensor::transpose(int64_t a, int64_t b) const { return xg::transpose(*this, a, b); }
Tensor Tensor::narrow(int64_t d, int64_t s, int64_t l) const { return xg::narrow(*this, d, s, l); }
Tensor Tensor::slice(int64_t d, int64_t s, int64_t e, int64_t st) const { return xg::slice(*this, d, s, e, st); }
Tensor Tensor::select(int64_t d, int64_t i) const { return xg::select(*this, d, i); }
Tensor Tensor::squeeze(int64_t d) const { return xg::squeeze(*this, d); }
Tensor Tensor::squeeze() const { return xg::squeeze(*this); }
Tensor Tensor::unsqueeze(int64_t d) const { return xg::unsqueeze(*this, d); }
Tensor Tensor::expand(const Shape& s) const { return xg::expand(*this, s); }
Tensor Tensor::sum() const { return xg::sum(*this); }
Tensor Tensor::mean() const { return xg::mean(*this); }
Tensor Tensor::sum(const Shape& d, bool k) const { return xg::sum(*this, d, k); }
Tensor Tensor::mean(const Shape& d, bool k) const { return xg::mean(*this, d, k); }
Tensor Tensor::exp() const { return xg::exp(*this); }
Tensor Tensor::log() const { return xg::log(*this); }
Tensor Tensor::pow(Scalar e) const { return xg::pow(*this, e); }
Tensor Tensor::abs() const { return xg::abs(*this); }
Tensor Tensor::sqrt() const { return xg::sqrt(*this); }
Tensor Tensor::relu() const { return xg::relu(*this); }
Tensor Tensor::sigmoid() const { return xg::sigmoid(*this); }
Tensor Tensor::tanh() const { return xg::tanh(*this); }
Tensor Tensor::argmax(int64_t d, bool k) const { return xg::argmax(*this, d, k); }
Tensor Tensor::matmul(const Tensor& o) const { return xg::matmul(*this, o); }

// ---------------------------------------------------------------- printing

std::string Tensor::to_string() const {
  if (!defined()) return "tensor(undefined)";
  Tensor c = contiguous().detach();
  const bool fp = is_floating(dtype());
  std::vector<double> v(static_cast<size_t>(numel()));
  core::dispatch_all(dtype(), [&]<class T>() {
    const T* p = static_cast<const T*>(c.raw_data());
    for (int64_t i = 0; i < numel(); ++i) v[static_cast<size_t>(i)] = static_cast<double>(p[i]);
  });
  // Like PyTorch: fixed point with 4 decimals unless magnitudes call for scientific notation.
  double amax = 0, amin_nz = INFINITY;
  for (double x : v)
    if (std::isfinite(x)) {
      amax = std::max(amax, std::abs(x));
      if (x != 0) amin_nz = std::min(amin_nz, std::abs(x));
    }
  const bool sci = fp && (amax >= 1e8 || (amin_nz < 1e-4 && amin_nz != INFINITY));
  auto fmt_one = [&](double x) -> std::string {
    if (dtype() == kBool) return x != 0 ? "True" : "False";
    if (!fp) return fmt::format("{}", static_cast<int64_t>(x));
    if (std::isnan(x)) return "nan";
    if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
    return sci ? fmt::format("{:.4e}", x) : fmt::format("{:.4f}", x);
  };
  size_t width = 0;
  for (double x : v) width = std::max(width, fmt_one(x).size());
  const bool elide = numel() > 1000;
  const auto& s = shape();
  std::string out = "tensor(";
  std::function<void(size_t, int64_t, int)> rec = [&](size_t d, int64_t off, int indent) {
    if (d == s.size()) {
      out += fmt::format("{:>{}}", fmt_one(v[static_cast<size_t>(off)]), width);
      return;
    }
    const int64_t n = s[d];
    const int64_t stride = shape_numel(Shape(s.begin() + static_cast<long>(d) + 1, s.end()));
    out += "[";
    for (int64_t i = 0; i < n; ++i) {
      if (elide && n > 6 && i == 3) {
        out += d + 1 == s.size() ? "..., " : fmt::format("...,\n{:{}}", "", indent + 1);
        i = n - 3;
      }
      rec(d + 1, off + i * stride, indent + 1);
      if (i + 1 < n)
        out += d + 1 == s.size() ? ", " : fmt::format(",{}{:{}}", std::string(s.size() - d - 1, '\n'), "", indent + 1);
    }
    out += "]";
  };
  rec(0, 0, 7);
  out += fmt::format(", shape={}, dtype={}", shape_str(s), dtype_name(dtype()));
  if (grad_fn())
    out += fmt::format(", grad_fn=<{}>", grad_fn()->name());
  else if (requires_grad())
    out += ", requires_grad=True";
  out += ")";
  return out;
}

}  // namespace xg
