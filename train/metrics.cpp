#include "xgrad/train/metrics.h"

#include <cmath>
#include <limits>
#include <vector>

#include <fmt/ranges.h>

#include "xgrad/autograd.h"
#include "xgrad/error.h"

namespace xg::train {
namespace {

/// Values of t as doubles in row-major order (no graph recorded).
std::vector<double> values(const Tensor& t) {
  NoGradGuard ng;
  return t.detach().to(kFloat64).contiguous().to_vector<double>();
}

/// pred as [N, C]: checks the rank and returns C.
int64_t classes_of(const Tensor& pred, const char* who) {
  if (pred.dim() != 2) fail<ShapeError>("{}: predictions must be [N, C] scores, got shape {}", who, pred.shape());
  return pred.size(1);
}

/// Sparse labels of target [N] (int64, or floats holding integers), checked against C classes.
std::vector<int64_t> sparse_labels(const Tensor& target, int64_t n, int64_t c, const char* who) {
  if (target.dim() != 1 || target.size(0) != n)
    fail<ShapeError>("{}: class-index targets must be [{}], got shape {}", who, n, target.shape());
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(n));
  for (double v : values(target)) {
    const auto k = static_cast<int64_t>(v);
    if (static_cast<double>(k) != v || k < 0 || k >= c)
      fail<IndexError>("{}: target {} is not a class index in [0, {})", who, v, c);
    out.push_back(k);
  }
  return out;
}

/// argmax of each row of a row-major [n, c] matrix (first maximum wins, as torch.argmax).
std::vector<int64_t> row_argmax(const std::vector<double>& m, int64_t n, int64_t c) {
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double* row = m.data() + i * c;
    int64_t best = 0;
    for (int64_t j = 1; j < c; ++j)
      if (row[j] > row[best]) best = j;
    out[static_cast<size_t>(i)] = best;
  }
  return out;
}

}  // namespace

double CountingMetric::result() const {
  return total_ == 0 ? std::numeric_limits<double>::quiet_NaN()
                     : static_cast<double>(correct_) / static_cast<double>(total_);
}

void SparseCategoricalAccuracy::update(const Tensor& pred, const Tensor& target) {
  const int64_t c = classes_of(pred, "SparseCategoricalAccuracy");
  const int64_t n = pred.size(0);
  const auto labels = sparse_labels(target, n, c, "SparseCategoricalAccuracy");
  const auto am = row_argmax(values(pred), n, c);
  for (size_t i = 0; i < am.size(); ++i) correct_ += am[i] == labels[i];
  total_ += n;
}

void CategoricalAccuracy::update(const Tensor& pred, const Tensor& target) {
  const int64_t c = classes_of(pred, "CategoricalAccuracy");
  const int64_t n = pred.size(0);
  if (target.shape() != pred.shape())
    fail<ShapeError>("CategoricalAccuracy: targets must have the predictions' shape {}, got {}", pred.shape(),
                     target.shape());
  const auto a = row_argmax(values(pred), n, c);
  const auto b = row_argmax(values(target), n, c);
  for (size_t i = 0; i < a.size(); ++i) correct_ += a[i] == b[i];
  total_ += n;
}

void BinaryAccuracy::update(const Tensor& pred, const Tensor& target) {
  if (pred.numel() != target.numel() || (pred.dim() > 0 && target.dim() > 0 && pred.size(0) != target.size(0)))
    fail<ShapeError>("BinaryAccuracy: predictions {} and targets {} must hold the same number of values", pred.shape(),
                     target.shape());
  const auto p = values(pred), t = values(target);
  for (size_t i = 0; i < p.size(); ++i) correct_ += (p[i] > threshold_) == (t[i] > 0.5);
  total_ += static_cast<int64_t>(p.size());
}

void Accuracy::update(const Tensor& pred, const Tensor& target) {
  const bool binary = pred.dim() == 1 || (pred.dim() == 2 && pred.size(1) == 1);
  if (binary) {
    BinaryAccuracy b(threshold_);
    b.update(pred, target);
    correct_ += static_cast<int64_t>(std::lround(b.result() * static_cast<double>(target.numel())));
    total_ += target.numel();
    return;
  }
  if (target.dim() == 1) {
    SparseCategoricalAccuracy s;
    s.update(pred, target);
    correct_ += static_cast<int64_t>(std::lround(s.result() * static_cast<double>(pred.size(0))));
  } else {
    CategoricalAccuracy s;
    s.update(pred, target);
    correct_ += static_cast<int64_t>(std::lround(s.result() * static_cast<double>(pred.size(0))));
  }
  total_ += pred.size(0);
}

TopKAccuracy::TopKAccuracy(int64_t k, std::string name) : k_(k), name_(std::move(name)) {
  if (k < 1) fail<ValueError>("TopKAccuracy: k must be at least 1, got {}", k);
  if (name_.empty()) name_ = "top_" + std::to_string(k) + "_accuracy";
}

void TopKAccuracy::update(const Tensor& pred, const Tensor& target) {
  const int64_t c = classes_of(pred, "TopKAccuracy");
  const int64_t n = pred.size(0);
  const auto p = values(pred);
  std::vector<int64_t> labels;
  if (target.dim() == 1) {
    labels = sparse_labels(target, n, c, "TopKAccuracy");
  } else if (target.shape() == pred.shape()) {
    labels = row_argmax(values(target), n, c);
  } else {
    fail<ShapeError>("TopKAccuracy: targets must be [{}] class indices or [{}, {}] one-hot, got {}", n, n, c,
                     target.shape());
  }
  for (int64_t i = 0; i < n; ++i) {
    const double* row = p.data() + i * c;
    const double truth = row[labels[static_cast<size_t>(i)]];
    int64_t above = 0;
    for (int64_t j = 0; j < c; ++j) above += row[j] > truth;
    correct_ += above < k_;
  }
  total_ += n;
}

void Mean::add(double value, int64_t count) {
  sum_ += value * static_cast<double>(count);
  count_ += count;
}

void Mean::update(const Tensor& pred, const Tensor& target) {
  NoGradGuard ng;
  add(pred.detach().to(kFloat64).mean().item(), target.dim() > 0 ? target.size(0) : 1);
}

double Mean::result() const {
  return count_ == 0 ? std::numeric_limits<double>::quiet_NaN() : sum_ / static_cast<double>(count_);
}

std::shared_ptr<Metric> make_metric(const std::string& name) {
  if (name == "accuracy" || name == "acc") return std::make_shared<Accuracy>(name);
  if (name == "sparse_categorical_accuracy") return std::make_shared<SparseCategoricalAccuracy>(name);
  if (name == "categorical_accuracy") return std::make_shared<CategoricalAccuracy>(name);
  if (name == "binary_accuracy") return std::make_shared<BinaryAccuracy>(0.5, name);
  if (name == "top_k_accuracy" || name == "sparse_top_k_categorical_accuracy" || name == "top_k_categorical_accuracy")
    return std::make_shared<TopKAccuracy>(5, name);
  if (name.starts_with("top_") && name.ends_with("_accuracy")) {
    const std::string k = name.substr(4, name.size() - 4 - 9);
    if (!k.empty() && k.find_first_not_of("0123456789") == std::string::npos && k.size() < 9)
      return std::make_shared<TopKAccuracy>(std::stoll(k), name);
  }
  fail<ValueError>(
      "make_metric: unknown metric '{}' (known: accuracy, acc, sparse_categorical_accuracy, categorical_accuracy, "
      "binary_accuracy, top_k_accuracy, top_<k>_accuracy, sparse_top_k_categorical_accuracy, "
      "top_k_categorical_accuracy)",
      name);
}

}  // namespace xg::train
