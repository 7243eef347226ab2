/// Weight initialisers (torch.nn.init semantics).
#include "xgrad/nn/init.h"

#include <cmath>
#include <vector>

#include "xgrad/autograd.h"

namespace xg::nn::init {

namespace {

void check_floating(const Tensor& t, const char* op) {
  if (!t.defined()) fail<ValueError>("init::{}: undefined tensor", op);
  if (!is_floating(t.dtype())) fail<DTypeError>("init::{}: needs a floating tensor, got {}", op, dtype_name(t.dtype()));
}

/// Copies src into t without recording (t is usually a parameter that requires grad).
Tensor fill_from(Tensor t, const Tensor& src) {
  NoGradGuard ng;
  t.copy_(src);
  return t;
}

int64_t fan(const Tensor& t, const std::string& mode, const char* op) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  if (mode == "fan_in") return fan_in;
  if (mode == "fan_out") return fan_out;
  fail<ValueError>("init::{}: mode must be \"fan_in\" or \"fan_out\", got \"{}\"", op, mode);
}

}  // namespace

double calculate_gain(const std::string& nonlinearity, double param) {
  if (nonlinearity == "linear" || nonlinearity == "conv1d" || nonlinearity == "conv2d" || nonlinearity == "conv3d" ||
      nonlinearity == "conv_transpose1d" || nonlinearity == "conv_transpose2d" || nonlinearity == "conv_transpose3d" ||
      nonlinearity == "sigmoid")
    return 1.0;
  if (nonlinearity == "tanh") return 5.0 / 3.0;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") {
    const double slope = param < 0 ? 0.01 : param;
    return std::sqrt(2.0 / (1.0 + slope * slope));
  }
  if (nonlinearity == "selu") return 3.0 / 4.0;
  fail<ValueError>("init::calculate_gain: unsupported nonlinearity \"{}\"", nonlinearity);
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t) {
  if (!t.defined() || t.dim() < 2)
    fail<ShapeError>("init: fan in and fan out need a tensor of at least 2 dims, got shape {}",
                     t.defined() ? shape_str(t.shape()) : "undefined");
  int64_t receptive = 1;
  for (int64_t d = 2; d < t.dim(); ++d) receptive *= t.size(d);
  return {t.size(1) * receptive, t.size(0) * receptive};
}

Tensor uniform_(Tensor t, double a, double b, Generator* gen) {
  check_floating(t, "uniform_");
  if (!(a <= b)) fail<ValueError>("init::uniform_: needs a <= b, got a={} b={}", a, b);
  return fill_from(t, uniform(t.shape(), a, b, t.dtype(), gen));
}

Tensor normal_(Tensor t, double mean, double std, Generator* gen) {
  check_floating(t, "normal_");
  if (!(std >= 0)) fail<ValueError>("init::normal_: std must be >= 0, got {}", std);
  return fill_from(t, normal(t.shape(), mean, std, t.dtype(), gen));
}

Tensor constant_(Tensor t, double value) {
  if (!t.defined()) fail<ValueError>("init::constant_: undefined tensor");
  NoGradGuard ng;
  t.fill_(value);
  return t;
}

Tensor zeros_(Tensor t) { return constant_(std::move(t), 0.0); }
Tensor ones_(Tensor t) { return constant_(std::move(t), 1.0); }

Tensor xavier_uniform_(Tensor t, double gain, Generator* gen) {
  check_floating(t, "xavier_uniform_");
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  return uniform_(std::move(t), -bound, bound, gen);
}

Tensor xavier_normal_(Tensor t, double gain, Generator* gen) {
  check_floating(t, "xavier_normal_");
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return normal_(std::move(t), 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)), gen);
}

Tensor kaiming_uniform_(Tensor t, double a, const std::string& mode, const std::string& nonlinearity, Generator* gen) {
  check_floating(t, "kaiming_uniform_");
  const int64_t f = fan(t, mode, "kaiming_uniform_");
  if (f == 0) fail<ShapeError>("init::kaiming_uniform_: zero-element tensor of shape {}", shape_str(t.shape()));
  const double bound = calculate_gain(nonlinearity, a) * std::sqrt(3.0 / static_cast<double>(f));
  return uniform_(std::move(t), -bound, bound, gen);
}

Tensor kaiming_normal_(Tensor t, double a, const std::string& mode, const std::string& nonlinearity, Generator* gen) {
  check_floating(t, "kaiming_normal_");
  const int64_t f = fan(t, mode, "kaiming_normal_");
  if (f == 0) fail<ShapeError>("init::kaiming_normal_: zero-element tensor of shape {}", shape_str(t.shape()));
  return normal_(std::move(t), 0.0, calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(f)), gen);
}

Tensor orthogonal_(Tensor t, double gain, Generator* gen) {
  check_floating(t, "orthogonal_");
  if (t.dim() < 2) fail<ShapeError>("init::orthogonal_: needs at least 2 dims, got shape {}", shape_str(t.shape()));
  const int64_t rows = t.size(0);
  const int64_t cols = rows == 0 ? 0 : t.numel() / rows;
  if (rows == 0 || cols == 0) return t;
  // Orthonormalise the columns of a tall Gaussian matrix A [m, n] (m >= n) by modified Gram-Schmidt,
  // run twice for accuracy. The result is Q of A = QR with R's diagonal positive.
  const bool wide = rows < cols;
  const int64_t m = wide ? cols : rows, n = wide ? rows : cols;
  const std::vector<double> g = normal({m, n}, 0.0, 1.0, kFloat64, gen).to_vector<double>();
  std::vector<double> q(g);
  auto col = [&](int64_t r, int64_t c) -> double& { return q[static_cast<size_t>(r * n + c)]; };
  for (int64_t j = 0; j < n; ++j) {
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t k = 0; k < j; ++k) {
        double dot = 0;
        for (int64_t r = 0; r < m; ++r) dot += col(r, k) * col(r, j);
        for (int64_t r = 0; r < m; ++r) col(r, j) -= dot * col(r, k);
      }
    double norm = 0;
    for (int64_t r = 0; r < m; ++r) norm += col(r, j) * col(r, j);
    norm = std::sqrt(norm);
    if (norm == 0) fail<ValueError>("init::orthogonal_: degenerate random matrix");
    for (int64_t r = 0; r < m; ++r) col(r, j) /= norm;
  }
  std::vector<double> out(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) out[static_cast<size_t>(i * cols + j)] = gain * (wide ? col(j, i) : col(i, j));
  return fill_from(t, from_vector(out, t.shape()).to(t.dtype()));
}

}  // namespace xg::nn::init
