#pragma once
/// Streaming metrics for Model::compile: each accumulates over the batches of an epoch.
/// Predictions are scores per class (logits or probabilities: the argmax is the same).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "xgrad/tensor.h"

namespace xg::train {

class Metric {
 public:
  virtual ~Metric() = default;
  /// The name in logs and progress lines ("accuracy", "top_5_accuracy", …).
  virtual std::string name() const = 0;
  virtual void reset() = 0;
  /// Adds a batch: pred [N, ...] as the model returned it (detached), target [N, ...].
  virtual void update(const Tensor& pred, const Tensor& target) = 0;
  /// The value over everything since reset (NaN before any update).
  virtual double result() const = 0;
};

/// A base for metrics that are a fraction of correct samples, under a name given at construction.
class CountingMetric : public Metric {
 public:
  std::string name() const override { return name_; }
  void reset() override { correct_ = 0, total_ = 0; }
  double result() const override;

 protected:
  CountingMetric() = default;
  explicit CountingMetric(std::string name) : name_(std::move(name)) {}

  std::string name_;
  int64_t correct_ = 0, total_ = 0;
};

/// Classification accuracy that chooses its form per batch: sparse (int64 class indices [N]
/// against scores [N, C]), categorical (one-hot or probability targets [N, C]: argmax agrees) or
/// binary (pred [N] or [N, 1] against 0/1 targets, thresholded at `threshold`).
class Accuracy : public CountingMetric {
 public:
  explicit Accuracy(std::string name = "accuracy", double binary_threshold = 0.5)
      : CountingMetric(std::move(name)), threshold_(binary_threshold) {}
  void update(const Tensor& pred, const Tensor& target) override;

 private:
  double threshold_;
};

/// pred [N, C] scores, target int64 class indices [N] (floats holding integers are accepted).
class SparseCategoricalAccuracy : public CountingMetric {
 public:
  explicit SparseCategoricalAccuracy(std::string name = "accuracy") : CountingMetric(std::move(name)) {}
  void update(const Tensor& pred, const Tensor& target) override;
};

/// pred [N, C] scores, target [N, C] one-hot or probabilities: correct when the argmaxes agree.
class CategoricalAccuracy : public CountingMetric {
 public:
  explicit CategoricalAccuracy(std::string name = "accuracy") : CountingMetric(std::move(name)) {}
  void update(const Tensor& pred, const Tensor& target) override;
};

/// pred of any shape against 0/1 targets of the same number of elements: correct when
/// (pred > threshold) == (target > 0.5). Use threshold 0 for logits, 0.5 for probabilities.
class BinaryAccuracy : public CountingMetric {
 public:
  explicit BinaryAccuracy(double threshold = 0.5, std::string name = "accuracy")
      : CountingMetric(std::move(name)), threshold_(threshold) {}
  void update(const Tensor& pred, const Tensor& target) override;

 private:
  double threshold_;
};

/// Correct when the true class is among the k highest scores (ties broken in the sample's favour
/// only when the true score is strictly beaten by fewer than k others). Targets sparse [N] or
/// one-hot [N, C]. Default name "top_<k>_accuracy".
class TopKAccuracy : public CountingMetric {
 public:
  explicit TopKAccuracy(int64_t k = 5, std::string name = "");
  void update(const Tensor& pred, const Tensor& target) override;

 private:
  int64_t k_;
};

/// The sample-weighted mean of a scalar per batch (how fit reports "loss").
class Mean : public Metric {
 public:
  explicit Mean(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  void reset() override { sum_ = 0, count_ = 0; }
  /// Adds value for `count` samples.
  void add(double value, int64_t count);
  /// Adds pred's mean over target.size(0) samples (pred is the batch's scalar).
  void update(const Tensor& pred, const Tensor& target) override;
  double result() const override;

 private:
  std::string name_;
  double sum_ = 0;
  int64_t count_ = 0;
};

/// Regression error over all values: pred and target hold the same number of values per sample
/// ([N] against [N, 1] is fine). Squared: the mean squared error, else the mean absolute error.
class RegressionError : public Metric {
 public:
  RegressionError(bool squared, std::string name) : squared_(squared), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  void reset() override { sum_ = 0, count_ = 0; }
  void update(const Tensor& pred, const Tensor& target) override;
  double result() const override;

 private:
  bool squared_;
  std::string name_;
  double sum_ = 0;
  int64_t count_ = 0;
};

/// Binary classification from scores: pred [N] or [N, 1] (positive when above `threshold`: 0 for
/// logits, 0.5 for probabilities) or [N, 2] (positive when the second score is the larger),
/// against 0/1 targets [N] or [N, 1]. Counts true/false positives and negatives.
class BinaryConfusion : public Metric {
 public:
  enum class Kind { Precision, Recall };
  BinaryConfusion(Kind kind, double threshold, std::string name)
      : kind_(kind), threshold_(threshold), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  void reset() override { tp_ = fp_ = fn_ = 0; }
  void update(const Tensor& pred, const Tensor& target) override;
  /// Precision tp / (tp + fp) or recall tp / (tp + fn); 0 when the denominator is 0 (as
  /// scikit-learn's zero_division=0), NaN before any update.
  double result() const override;

 private:
  Kind kind_;
  double threshold_;
  std::string name_;
  int64_t tp_ = 0, fp_ = 0, fn_ = 0;
  bool updated_ = false;
};

/// Area under the ROC curve for binary scores (the shapes of BinaryConfusion): the probability
/// that a random positive scores above a random negative, ties counting one half. Keeps every
/// score of the epoch (exact, unlike Keras's thresholded approximation); NaN when the samples seen
/// hold only one class.
class AUC : public Metric {
 public:
  explicit AUC(std::string name = "auc") : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  void reset() override { scores_.clear(), labels_.clear(); }
  void update(const Tensor& pred, const Tensor& target) override;
  double result() const override;

 private:
  std::string name_;
  std::vector<double> scores_;
  std::vector<uint8_t> labels_;
};

/// A metric by its Keras name: "accuracy"/"acc" (Accuracy, auto form), "sparse_categorical_accuracy",
/// "categorical_accuracy", "binary_accuracy", "top_k_accuracy" or "top_<k>_accuracy",
/// "sparse_top_k_categorical_accuracy" / "top_k_categorical_accuracy" (k = 5), "mae" /
/// "mean_absolute_error", "mse" / "mean_squared_error", "precision", "recall", "auc".
/// binary_threshold: where precision and recall call a score positive (Model::compile passes 0 for
/// bce_with_logits, else 0.5). Unknown names are a ValueError listing the known ones.
std::shared_ptr<Metric> make_metric(const std::string& name, double binary_threshold = 0.5);

}  // namespace xg::train
