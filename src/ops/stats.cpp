/// Order statistics. Each op finds its indices without history (a pass over each row in double),
/// then takes the values with gather, so the gradient reaches the selected elements and second
/// derivatives pass through gather. The whole-tensor median has its own node: PyTorch shares its
/// gradient among all elements equal to the median.
#include "xgrad/ops/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "ops/op.h"
#include "xgrad/ops/indexing.h"
#include "xgrad/ops/maths.h"

namespace xg {

using namespace ops;

namespace {

/// x with dim moved last, as a contiguous [rows, n] list of doubles, and the kept dims' shape.
struct Rows {
  std::vector<double> v;
  int64_t rows = 0, n = 0;
};

Rows rows_of(const Tensor& x, int64_t d) {
  Shape order;
  for (int64_t i = 0; i < x.dim(); ++i)
    if (i != d) order.push_back(i);
  order.push_back(d);
  Rows r;
  r.n = x.size(d);
  r.rows = r.n == 0 ? 0 : x.numel() / r.n;
  r.v = permute(x.detach(), order).contiguous().to_vector<double>();
  return r;
}

/// Shape of the result along dim d with keepdim: d becomes 1.
Shape kept_shape(const Tensor& x, int64_t d) {
  Shape s = x.shape();
  s[static_cast<size_t>(d)] = 1;
  return s;
}

/// Values at idx (keepdim shape, int64) along d, and the indices, squeezed unless keepdim.
std::pair<Tensor, Tensor> select_along(const Tensor& x, int64_t d, const std::vector<int64_t>& idx, bool keepdim) {
  // idx is in the order of rows_of: the kept dims in order, which is the keepdim shape's order.
  Tensor index = from_vector(idx, kept_shape(x, d));
  Tensor values = gather(x, d, index);
  if (!keepdim) {
    values = squeeze(values, d);
    index = squeeze(index, d);
  }
  return {values, index};
}

/// The input as at least 1-D (a 0-d input is one element along dim 0 or -1), and dim wrapped.
std::pair<Tensor, int64_t> along(const Tensor& x, int64_t dim, const char* op) {
  check_defined(x, op, "input");
  if (x.dim() == 0) {
    wrap_dim(dim, 1, op);
    return {reshape(x, {1}), 0};
  }
  return {x, wrap_dim(dim, x.dim(), op)};
}

/// Row positions ordered as a stable sort with NaN last.
std::vector<int64_t> stable_order(const double* row, int64_t n) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    const double va = row[a], vb = row[b];
    if (std::isnan(vb)) return !std::isnan(va);
    return va < vb;
  });
  return order;
}

/// The lower median's position in a row: the first NaN if any, else position (n-1)/2 of a stable sort.
/// Ignoring NaN (nanmedian): position (k-1)/2 among the k numbers; an all-NaN row gives its first NaN.
int64_t median_index(const double* row, int64_t n, bool ignore_nan) {
  int64_t numbers = n;
  for (int64_t i = 0; i < n; ++i)
    if (std::isnan(row[i])) {
      if (!ignore_nan) return i;
      --numbers;
    }
  if (numbers == 0) return 0;
  return stable_order(row, n)[static_cast<size_t>((numbers - 1) / 2)];
}

/// median over all elements: the gradient shared among the elements equal to it (NaN: the NaNs).
Grads median_backward(const Ctx<>& c) {
  const Tensor x = c.input(), m = c.output();
  const Tensor mask = where(isnan(m), isnan(x), eq(x, m)).to(x.dtype());
  return {mul(mask, div(c.grad(), sum(mask)))};
}
const OpDef<> kMedian{.name = "median", .saves = {.inputs = 0b1, .outputs = 0b1}, .backward = median_backward};
const OpDef<> kNanmedian{.name = "nanmedian", .saves = {.inputs = 0b1, .outputs = 0b1}, .backward = median_backward};

Tensor median_all(const Tensor& x, bool ignore_nan, const char* op) {
  check_defined(x, op, "input");
  Tensor out;
  if (x.numel() == 0) {
    out = full({}, std::numeric_limits<double>::quiet_NaN(), x.dtype());
  } else {
    const Tensor flat = reshape(x.detach(), {x.numel()});
    const std::vector<double> v = flat.contiguous().to_vector<double>();
    const int64_t i = median_index(v.data(), x.numel(), ignore_nan);
    out = reshape(select(flat, 0, i), {}).clone();
  }
  return (ignore_nan ? kNanmedian : kMedian).record(std::move(out), {&x});
}

std::pair<Tensor, Tensor> median_along(const Tensor& x0, int64_t dim, bool keepdim, bool ignore_nan, const char* op) {
  const auto [x, d] = along(x0, dim, op);
  if (x.size(d) == 0)
    fail<IndexError>("{}: cannot take the median over dim {} of size 0 (input shape {})", op, dim,
                     shape_str(x0.shape()));
  const Rows r = rows_of(x, d);
  std::vector<int64_t> idx(static_cast<size_t>(r.rows));
  for (int64_t k = 0; k < r.rows; ++k)
    idx[static_cast<size_t>(k)] = median_index(r.v.data() + k * r.n, r.n, ignore_nan);
  auto res = select_along(x, d, idx, keepdim);
  if (x0.dim() == 0) return {reshape(res.first, {}), reshape(res.second, {})};
  return res;
}

}  // namespace

Tensor median(const Tensor& x) { return median_all(x, false, "median"); }
Tensor nanmedian(const Tensor& x) { return median_all(x, true, "nanmedian"); }
std::pair<Tensor, Tensor> median(const Tensor& x, int64_t dim, bool keepdim) {
  return median_along(x, dim, keepdim, false, "median");
}
std::pair<Tensor, Tensor> nanmedian(const Tensor& x, int64_t dim, bool keepdim) {
  return median_along(x, dim, keepdim, true, "nanmedian");
}

std::pair<Tensor, Tensor> mode(const Tensor& x0, int64_t dim, bool keepdim) {
  const auto [x, d] = along(x0, dim, "mode");
  if (x.size(d) == 0)
    fail<IndexError>("mode: cannot take the mode over dim {} of size 0 (input shape {})", dim, shape_str(x0.shape()));
  const Rows r = rows_of(x, d);
  std::vector<int64_t> idx(static_cast<size_t>(r.rows));
  for (int64_t k = 0; k < r.rows; ++k) {
    const double* row = r.v.data() + k * r.n;
    const std::vector<int64_t> order = stable_order(row, r.n);
    // Runs of equal values in ascending order: the first longest run is the smallest most frequent
    // value, and the stable order ends each run at the value's last occurrence.
    int64_t best = -1, best_len = 0;
    for (int64_t s = 0; s < r.n;) {
      int64_t e = s + 1;
      while (e < r.n && row[order[static_cast<size_t>(e)]] == row[order[static_cast<size_t>(s)]]) ++e;
      if (e - s > best_len) {
        best_len = e - s;
        best = order[static_cast<size_t>(e - 1)];
      }
      s = e;
    }
    idx[static_cast<size_t>(k)] = best;
  }
  auto res = select_along(x, d, idx, keepdim);
  if (x0.dim() == 0) return {reshape(res.first, {}), reshape(res.second, {})};
  return res;
}

namespace {

Tensor quantile_impl(const Tensor& x0, const Tensor& q, std::optional<int64_t> dim, bool keepdim,
                     const std::string& interpolation, bool ignore_nan, const char* op) {
  check_defined(x0, op, "input");
  check_defined(q, op, "q");
  if (!is_floating(x0.dtype())) fail<DTypeError>("{}: expected a floating input, got {}", op, dtype_name(x0.dtype()));
  if (q.dim() > 1) fail<ShapeError>("{}: q must be a number, 0-d or 1-D, got shape {}", op, shape_str(q.shape()));
  enum class Mode { linear, lower, higher, midpoint, nearest };
  Mode m;
  if (interpolation == "linear")
    m = Mode::linear;
  else if (interpolation == "lower")
    m = Mode::lower;
  else if (interpolation == "higher")
    m = Mode::higher;
  else if (interpolation == "midpoint")
    m = Mode::midpoint;
  else if (interpolation == "nearest")
    m = Mode::nearest;
  else
    fail<ValueError>("{}: interpolation must be linear, lower, higher, midpoint or nearest, got '{}'", op,
                     interpolation);
  const std::vector<double> qs = q.detach().contiguous().to_vector<double>();
  for (double v : qs)
    if (!(v >= 0.0 && v <= 1.0)) fail<ValueError>("{}: q must be in the range [0, 1], got {}", op, v);
  if (x0.numel() == 0) fail<IndexError>("{}: the input is empty (shape {})", op, shape_str(x0.shape()));
  // Along dim (moved last) or over the flattened input.
  Tensor x = dim ? x0 : reshape(x0, {x0.numel()});
  if (x.dim() == 0) x = reshape(x, {1});
  const int64_t d = dim ? wrap_dim(*dim, x.dim(), op) : 0;
  Shape order;
  for (int64_t i = 0; i < x.dim(); ++i)
    if (i != d) order.push_back(i);
  order.push_back(d);
  const Tensor sorted = sort(permute(x, order), -1).first;  // NaN last
  const Rows r = rows_of(x, d);
  const int64_t nq = static_cast<int64_t>(qs.size());
  std::vector<int64_t> below(static_cast<size_t>(r.rows * nq)), above(below.size());
  std::vector<double> weight(below.size());
  for (int64_t k = 0; k < r.rows; ++k) {
    const double* row = r.v.data() + k * r.n;
    const int64_t nans = std::count_if(row, row + r.n, [](double v) { return std::isnan(v); });
    // With NaN: the last (NaN) element; ignoring NaN, ranks among the numbers (NaN when there are none).
    const int64_t numbers = ignore_nan ? std::max<int64_t>(r.n - nans, 1) : r.n;
    for (int64_t j = 0; j < nq; ++j) {
      const double rank = nans && !ignore_nan ? static_cast<double>(r.n - 1)
                                              : qs[static_cast<size_t>(j)] * static_cast<double>(numbers - 1);
      double lo = std::floor(rank), hi = std::ceil(rank);
      if (m == Mode::lower) hi = lo;
      if (m == Mode::higher) lo = hi;
      if (m == Mode::nearest) lo = hi = std::nearbyint(rank);  // half to even, as torch.round
      const auto u = static_cast<size_t>(k * nq + j);
      below[u] = static_cast<int64_t>(lo);
      above[u] = static_cast<int64_t>(hi);
      weight[u] = m == Mode::midpoint ? 0.5 : rank - lo;
    }
  }
  Shape rs(sorted.shape().begin(), sorted.shape().end() - 1);
  rs.push_back(nq);
  Tensor out = gather(sorted, -1, from_vector(below, rs));
  if (m == Mode::linear || m == Mode::midpoint)
    out = lerp(out, gather(sorted, -1, from_vector(above, rs)), from_vector(weight, rs).to(x.dtype()));
  // [rows..., Q] → [Q, rows...], then keepdim's 1 where dim was, and q's dim dropped for a 0-d q.
  Shape back{static_cast<int64_t>(rs.size()) - 1};
  for (int64_t i = 0; i + 1 < static_cast<int64_t>(rs.size()); ++i) back.push_back(i);
  out = permute(out, back);
  if (keepdim) {
    if (dim) {
      out = unsqueeze(out, d + 1);
    } else {
      Shape s{nq};
      s.insert(s.end(), static_cast<size_t>(x0.dim()), 1);
      out = reshape(out, s);
    }
  } else if (!dim && x0.dim() >= 0) {
    out = reshape(out, {nq});
  }
  if (x0.dim() == 0 && dim && !keepdim) out = reshape(out, {nq});
  return q.dim() == 0 ? squeeze(out, 0) : out;
}

}  // namespace

Tensor quantile(const Tensor& x, const Tensor& q, std::optional<int64_t> dim, bool keepdim,
                const std::string& interpolation) {
  return quantile_impl(x, q, dim, keepdim, interpolation, false, "quantile");
}
Tensor quantile(const Tensor& x, double q, std::optional<int64_t> dim, bool keepdim, const std::string& interpolation) {
  check_defined(x, "quantile", "input");
  return quantile_impl(x, scalar(q, x.dtype()), dim, keepdim, interpolation, false, "quantile");
}
Tensor nanquantile(const Tensor& x, const Tensor& q, std::optional<int64_t> dim, bool keepdim,
                   const std::string& interpolation) {
  return quantile_impl(x, q, dim, keepdim, interpolation, true, "nanquantile");
}
Tensor nanquantile(const Tensor& x, double q, std::optional<int64_t> dim, bool keepdim,
                   const std::string& interpolation) {
  check_defined(x, "nanquantile", "input");
  return quantile_impl(x, scalar(q, x.dtype()), dim, keepdim, interpolation, true, "nanquantile");
}

const RegisterOp reg_median{expose(kMedian, static_cast<Tensor (*)(const Tensor&)>(median), {"input"})};
const RegisterOp reg_nanmedian{expose(kNanmedian, static_cast<Tensor (*)(const Tensor&)>(nanmedian), {"input"})};

}  // namespace xg
