/// Tensor's members and factories that run kernels or record ops: fills, conversions and copies, the
/// method forms of ops, printing. Declared in xgrad/tensor.h (core); defined here, in the ops layer
/// that owns them, so core never reaches up.
#include <algorithm>
#include <cmath>
#include <functional>

#include "core/alias.h"
#include "core/dispatch.h"
#include "core/new_tensor.h"
#include "kernels/copy.h"
#include "ops/op.h"
#include "xgrad/ops/activation.h"
#include "xgrad/ops/elementwise.h"
#include "xgrad/ops/matmul.h"
#include "xgrad/ops/reduction.h"
#include "xgrad/ops/shape.h"
#include "xgrad/tape.h"

namespace xg {

// ---------------------------------------------------------------- factories that fill

namespace {
Tensor filled(const Shape& shape, Scalar value, DType dtype, const char* op) {
  Tensor t = core::new_tensor(shape, dtype, op);
  kernels::fill(t, value);
  return t;
}
}  // namespace

Tensor full(const Shape& shape, Scalar value, DType dtype) { return filled(shape, value, dtype, "full"); }
Tensor ones(const Shape& shape, DType dtype) { return filled(shape, Scalar(int64_t{1}), dtype, "ones"); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }
Tensor full_like(const Tensor& t, Scalar value) { return full(t.shape(), value, t.dtype()); }
Tensor scalar(Scalar value, DType dtype) { return full({}, value, dtype); }

// ---------------------------------------------------------------- conversion and copies

namespace ops {
namespace {
/// A cast between float dtypes: the gradient is cast back.
struct Cast {
  DType from, to;
  NamedAttrs fields() const { return {{"to", std::string(dtype_name(to))}}; }
};
const OpDef<Cast> kTo{.name = "to",
                      .backward = [](const Ctx<Cast>& c) -> Grads { return {c.grad().to(c.attrs().from)}; }};
const OpDef<> kClone{.name = "clone", .backward = [](const Ctx<>& c) -> Grads { return {c.grad()}; }};
}  // namespace
}  // namespace ops

Tensor Tensor::to(DType d) const {
  if (d == dtype()) return *this;
  Tensor out = empty(shape(), d);
  kernels::copy(*this, out);
  if (is_floating(d) && is_floating(dtype())) return ops::kTo.record(std::move(out), {this}, ops::Cast{dtype(), d});
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype());
  kernels::copy(*this, out);
  return ops::kClone.record(std::move(out), {this});
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

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

// ---------------------------------------------------------------- gradients

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
Tensor Tensor::unfold(int64_t dimension, int64_t size, int64_t step) const {
  return xg::unfold(*this, dimension, size, step);
}
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
  core::dispatch_storage(dtype(), [&]<class T>() {
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
