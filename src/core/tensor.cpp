#include "xgrad/tensor.h"
#include "core/pool.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "core/alias.h"
#include "core/allocator.h"
#include "core/dispatch.h"
#include "core/new_tensor.h"
#include "core/sizes.h"
#include "core/tape_detail.h"
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

TensorImpl::~TensorImpl() { autograd::release_node(std::move(grad_fn_)); }

namespace {
std::atomic<autograd::ViewHistoryRefresher> g_view_refresher{nullptr};
}  // namespace
void autograd::set_view_history_refresher(ViewHistoryRefresher f) {
  g_view_refresher.store(f, std::memory_order_release);
}
void autograd::refresh_view_history(TensorImpl& view) {
  const ViewHistoryRefresher f = g_view_refresher.load(std::memory_order_acquire);
  // Views get a base only through mark_view (ops/views.cpp), whose file registers f at load time.
  if (f == nullptr) fail<AutogradError>("internal error: a view's history is stale but no refresher is registered");
  f(view);
}

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

namespace {
[[noreturn]] void too_many_bytes(const Shape& shape, DType dtype, uint64_t numel, const char* op) {
  fail<Error>("{}: a {} tensor of shape {} would take {} elements x {} bytes, more than fits in memory", op,
              dtype_name(dtype), shape_str(shape), numel, element_size(dtype));
}
}  // namespace

size_t checked_nbytes(const Shape& shape, DType dtype, const char* op) {
  const auto numel = static_cast<uint64_t>(checked_numel(shape, op));
  if (numel > kMaxTensorBytes / element_size(dtype)) too_many_bytes(shape, dtype, numel, op);
  return static_cast<size_t>(numel) * element_size(dtype);
}

size_t checked_layout(const Shape& shape, DType dtype, const char* op, int64_t& numel, Shape& strides) {
  strides.resize(shape.size());
  int64_t span = 1, n = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    const int64_t d = shape[i];
    if (d < 0) fail<ShapeError>("{}: cannot create a tensor of shape {}: negative size", op, shape_str(shape));
    strides[i] = span;
    if (!mul_size(span, std::max<int64_t>(d, 1), span)) too_large(shape, op);
    n *= d;  // |n| <= span: cannot overflow
  }
  if (static_cast<uint64_t>(n) > kMaxTensorBytes / element_size(dtype))
    too_many_bytes(shape, dtype, static_cast<uint64_t>(n), op);
  numel = n;
  return static_cast<size_t>(n) * element_size(dtype);
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
template Half* Tensor::data<Half>() const;
template BFloat16* Tensor::data<BFloat16>() const;

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
  return core::dispatch_storage(dtype(),
                                [&]<class T>() { return static_cast<double>(static_cast<const T*>(raw_data())[off]); });
}
double Tensor::at(std::initializer_list<int64_t> idx) const { return at(Shape(idx)); }

double Tensor::item() const {
  if (numel() != 1)
    fail<ValueError>("item: tensor of shape {} has {} elements, expected 1", shape_str(shape()), numel());
  return core::dispatch_storage(dtype(),
                                [&]<class T>() { return static_cast<double>(*static_cast<const T*>(raw_data())); });
}

Scalar Tensor::item_scalar() const {
  if (numel() != 1)
    fail<ValueError>("item: tensor of shape {} has {} elements, expected 1", shape_str(shape()), numel());
  return core::dispatch_storage(dtype(), [&]<class T>() {
    const T v = *static_cast<const T*>(raw_data());
    if constexpr (std::is_arithmetic_v<T>)
      return Scalar(v);
    else
      return Scalar(static_cast<double>(static_cast<float>(v)));
  });
}

// ---------------------------------------------------------------- factories

namespace {
/// A contiguous tensor of shape; `op` names the caller in size and memory errors.
std::shared_ptr<TensorImpl> new_impl(const Shape& shape, DType dtype, const char* op) {
  auto impl = core::make_pooled<TensorImpl>();
  // Sizes checked, element count and strides in one pass (this runs for every op's output).
  const size_t nbytes = core::checked_layout(shape, dtype, op, impl->numel_, impl->strides_);
  try {
    impl->storage_ = core::make_pooled<Storage>(nbytes);
  } catch (const Error& e) {
    fail<Error>("{}: cannot allocate a {} tensor of shape {}: {}", op, dtype_name(dtype), shape_str(shape), e.what());
  }
  impl->shape_ = shape;
  impl->dtype_ = dtype;
  return impl;
}
}  // namespace

Tensor core::new_tensor(const Shape& shape, DType dtype, const char* op) { return Tensor(new_impl(shape, dtype, op)); }
Tensor empty(const Shape& shape, DType dtype) { return Tensor(new_impl(shape, dtype, "empty")); }

Tensor zeros(const Shape& shape, DType dtype) {
  Tensor t(new_impl(shape, dtype, "zeros"));
  std::memset(t.raw_data(), 0, t.nbytes());
  return t;
}
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype()); }
Tensor arange(double start, double end, double step, DType dtype) {
  if (step == 0) fail<ValueError>("arange: step must be non-zero");
  const double n = std::ceil((end - start) / step);
  if (!std::isfinite(n)) fail<ValueError>("arange: non-finite range [{}, {}) step {}", start, end, step);
  // 2^63 itself does not convert: the cast of a larger double is undefined (it gave 0 elements).
  if (n >= 0x1p63)
    fail<ValueError>("arange: [{}, {}) in steps of {} has {} elements, more than fit in int64", start, end, step, n);
  const int64_t count = std::max<int64_t>(0, static_cast<int64_t>(n));
  Tensor t(new_impl({count}, dtype, "arange"));
  core::dispatch_storage(dtype, [&]<class T>() {
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
  core::dispatch_storage(dtype, [&]<class T>() {
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
  core::dispatch_storage(dtype, [&]<class T>() {
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
Literal::Literal(std::initializer_list<Literal> items) {
  shape_ = {static_cast<int64_t>(items.size())};
  if (items.size() == 0) return;
  const Shape& inner = items.begin()->shape_;
  shape_.insert(shape_.end(), inner.begin(), inner.end());
  values_.reserve(items.size() * items.begin()->values_.size());
  int64_t i = 0;
  for (const Literal& item : items) {
    if (item.shape_ != inner)
      fail<ShapeError>("tensor: ragged nested list: element {} has shape {}, element 0 has shape {}", i,
                       shape_str(item.shape_), shape_str(inner));
    values_.insert(values_.end(), item.values_.begin(), item.values_.end());
    ++i;
  }
}

DType Literal::dtype() const {
  if (values_.empty()) return get_default_dtype();
  bool all_bool = true;
  for (const Scalar& v : values_) {
    if (v.is_floating()) return get_default_dtype();
    all_bool = all_bool && v.is_boolean();
  }
  return all_bool ? kBool : kInt64;
}

Tensor tensor(const Literal& data, const Shape& shape, DType dtype) {
  Shape s = data.shape();
  if (!shape.empty()) {
    const int64_t numel = core::checked_numel(shape, "tensor");
    if (numel != static_cast<int64_t>(data.values().size()))
      fail<ShapeError>("tensor: {} values do not fill shape {} ({} elements)", data.values().size(), shape_str(shape),
                       numel);
    s = shape;
  } else if (s.size() == 1 && s[0] == 1) {
    s = {};  // a one-element flat list is 0-d, as xgrad's tensor({x}) always gave
  }
  Tensor t = empty(s, dtype);
  core::dispatch_storage(dtype, [&]<class T>() {
    T* p = t.data<T>();
    for (const Scalar& v : data.values()) *p++ = v.to<T>();
  });
  return t;
}
Tensor tensor(const Literal& data, const Shape& shape) { return tensor(data, shape, data.dtype()); }
Tensor tensor(const Literal& data, DType dtype) { return tensor(data, {}, dtype); }

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
  // The 16-bit floats draw as float32 does and round.
  auto fill = [&]<class T>() {
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(static_cast<float>(draw(g)));
  };
  if (dtype == kFloat16)
    fill.template operator()<Half>();
  else if (dtype == kBFloat16)
    fill.template operator()<BFloat16>();
  else
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

void core::set_data(const Tensor& t, const Tensor& src) {
  TensorImpl* impl = t.impl();
  impl->storage_ = src.impl()->storage_;
  impl->shape_ = src.shape();
  impl->strides_ = src.strides();
  impl->offset_ = src.offset();
  impl->numel_ = src.numel();
  impl->dtype_ = src.dtype();
  impl->grad_.reset();
}

}  // namespace xg
