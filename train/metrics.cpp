#include "xgrad/train/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
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

/// Binary scores and 0/1 labels of pred [N], [N, 1] or [N, 2] (score: the second minus the first)
/// and target [N] or [N, 1].
void binary_scores(const Tensor& pred, const Tensor& target, const char* who, std::vector<double>& scores,
                   std::vector<uint8_t>& labels) {
  const bool two = pred.dim() == 2 && pred.size(1) == 2;
  if (!(pred.dim() == 1 || (pred.dim() == 2 && (pred.size(1) == 1 || two))))
    fail<ShapeError>("{}: binary predictions must be [N], [N, 1] or [N, 2], got shape {}", who, pred.shape());
  const int64_t n = pred.size(0);
  if (target.numel() != n || target.dim() < 1 || target.dim() > 2 || target.size(0) != n)
    fail<ShapeError>("{}: targets must be [{}] or [{}, 1] of 0/1, got shape {}", who, n, n, target.shape());
  const auto p = values(pred), t = values(target);
  for (int64_t i = 0; i < n; ++i) {
    const double y = t[static_cast<size_t>(i)];
    if (y != 0 && y != 1) fail<ValueError>("{}: target {} is not 0 or 1", who, y);
    labels.push_back(y == 1 ? 1 : 0);
    scores.push_back(two ? p[static_cast<size_t>(2 * i + 1)] - p[static_cast<size_t>(2 * i)]
                         : p[static_cast<size_t>(i)]);
  }
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

TopKAccuracy::TopKAccuracy(int64_t k, std::string name) : CountingMetric(std::move(name)), k_(k) {
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

void RegressionError::update(const Tensor& pred, const Tensor& target) {
  if (pred.numel() != target.numel() || (pred.dim() > 0 && target.dim() > 0 && pred.size(0) != target.size(0)))
    fail<ShapeError>("{}: predictions {} and targets {} must hold the same number of values", name_, pred.shape(),
                     target.shape());
  const auto p = values(pred), t = values(target);
  for (size_t i = 0; i < p.size(); ++i) {
    const double d = p[i] - t[i];
    sum_ += squared_ ? d * d : std::abs(d);
  }
  count_ += static_cast<int64_t>(p.size());
}

double RegressionError::result() const {
  return count_ == 0 ? std::numeric_limits<double>::quiet_NaN() : sum_ / static_cast<double>(count_);
}

void BinaryConfusion::update(const Tensor& pred, const Tensor& target) {
  std::vector<double> scores;
  std::vector<uint8_t> labels;
  binary_scores(pred, target, name_.c_str(), scores, labels);
  // [N, 2] scores are a difference: positive when the second class wins, whatever the threshold.
  const double th = pred.dim() == 2 && pred.size(1) == 2 ? 0.0 : threshold_;
  for (size_t i = 0; i < scores.size(); ++i) {
    const bool positive = scores[i] > th;
    tp_ += positive && labels[i];
    fp_ += positive && !labels[i];
    fn_ += !positive && labels[i];
  }
  updated_ = true;
}

double BinaryConfusion::result() const {
  if (!updated_) return std::numeric_limits<double>::quiet_NaN();
  const int64_t den = kind_ == Kind::Precision ? tp_ + fp_ : tp_ + fn_;
  return den == 0 ? 0.0 : static_cast<double>(tp_) / static_cast<double>(den);
}

void AUC::update(const Tensor& pred, const Tensor& target) {
  binary_scores(pred, target, name_.c_str(), scores_, labels_);
}

double AUC::result() const {
  // Mann-Whitney: the positives' rank sum among all scores (tied scores share their mean rank).
  const size_t n = scores_.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores_[a] < scores_[b]; });
  double rank_sum = 0;
  int64_t pos = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores_[order[j]] == scores_[order[i]]) ++j;
    const double mean_rank = (static_cast<double>(i) + static_cast<double>(j) + 1) / 2;  // 1-based ranks i+1..j
    for (size_t k = i; k < j; ++k)
      if (labels_[order[k]]) rank_sum += mean_rank, ++pos;
    i = j;
  }
  const int64_t neg = static_cast<int64_t>(n) - pos;
  if (pos == 0 || neg == 0) return std::numeric_limits<double>::quiet_NaN();
  const double p = static_cast<double>(pos);
  return (rank_sum - p * (p + 1) / 2) / (p * static_cast<double>(neg));
}

std::shared_ptr<Metric> make_metric(const std::string& name, double binary_threshold) {
  if (name == "mae" || name == "mean_absolute_error") return std::make_shared<RegressionError>(false, name);
  if (name == "mse" || name == "mean_squared_error") return std::make_shared<RegressionError>(true, name);
  if (name == "precision")
    return std::make_shared<BinaryConfusion>(BinaryConfusion::Kind::Precision, binary_threshold, name);
  if (name == "recall") return std::make_shared<BinaryConfusion>(BinaryConfusion::Kind::Recall, binary_threshold, name);
  if (name == "auc") return std::make_shared<AUC>(name);
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
      "top_k_categorical_accuracy, mae, mean_absolute_error, mse, mean_squared_error, precision, recall, auc)",
      name);
}

}  // namespace xg::train
