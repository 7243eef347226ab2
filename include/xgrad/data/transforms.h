#pragma once
/// Preprocessing and augmentation on tensors and batches. None of these record autograd.
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "xgrad/data/dataset.h"
#include "xgrad/data/loader.h"
#include "xgrad/random.h"
#include "xgrad/tensor.h"

namespace xg::data {

/// Pixel values 0..255 (any dtype) → float32 in [0, 1] (float64 input stays float64).
Tensor scale_pixels(const Tensor& x);

/// (x - mean[c]) / stddev[c] along the channel dim 1 of x [N, C, ...] (or the feature dim of
/// [N, F]); mean and stddev have C entries, or one entry for all channels. Floating x only.
Tensor normalize(const Tensor& x, const std::vector<double>& mean, const std::vector<double>& stddev);

/// Per-feature standardisation fitted on training data: each column of x [N, ...] (every
/// position of x.shape()[1:]) becomes zero-mean, unit-variance. Constant columns keep scale 1
/// (as scikit-learn does), so they map to 0 rather than NaN.
class StandardScaler {
 public:
  StandardScaler& fit(const Tensor& x);
  /// (x - mean) / scale, in x's dtype (float32 for integer x). Errors before fit or when x's
  /// trailing shape differs from the fitted one.
  Tensor transform(const Tensor& x) const;
  Tensor fit_transform(const Tensor& x) { return fit(x).transform(x); }
  Tensor inverse_transform(const Tensor& x) const;
  bool fitted() const { return mean_.defined(); }
  /// Fitted mean and scale (population std), float64, shape x.shape()[1:].
  const Tensor& mean() const { return mean_; }
  const Tensor& scale() const { return scale_; }

 private:
  Tensor mean_, scale_;
};

/// One-hot float32 [N, num_classes] from int64 class indices [N]; num_classes < 0 means
/// max(labels) + 1. A label outside [0, num_classes) throws IndexError.
Tensor to_categorical(const Tensor& labels, int64_t num_classes = -1);

/// Shuffled train and test index lists over n samples, test getting round(n * test_fraction)
/// of them. With strata (one class label per sample), each class is split in proportion
/// (largest-remainder rounding, so class counts are off by at most one from exact).
std::pair<std::vector<int64_t>, std::vector<int64_t>> split_indices(int64_t n, double test_fraction, uint64_t seed,
                                                                    const std::vector<int64_t>* strata = nullptr);

struct TensorSplit {
  Tensor x_train, x_test, y_train, y_test;
};
/// Splits x [N, ...] and y [N, ...] into shuffled train and test parts (seeded). stratify keeps
/// the class proportions of y, which must then be int64 [N].
TensorSplit train_test_split(const Tensor& x, const Tensor& y, double test_fraction = 0.25, uint64_t seed = 0,
                             bool stratify = false);
/// The same for a dataset: {train, test} views of it. stratify reads dataset->targets().
std::pair<std::shared_ptr<Subset>, std::shared_ptr<Subset>> train_test_split(std::shared_ptr<const Dataset> dataset,
                                                                             double test_fraction = 0.25,
                                                                             uint64_t seed = 0, bool stratify = false);

/// Pads each image of x [N, C, H, W] with `padding` zeros on every side, then crops an H×W
/// window at a random offset (one per image): the standard CIFAR augmentation.
Tensor random_crop(const Tensor& x, int64_t padding, Generator& gen);
/// Mirrors each image of x [N, C, H, W] left-right with probability p.
Tensor random_horizontal_flip(const Tensor& x, Generator& gen, double p = 0.5);
/// A loader transform: random_crop(padding) then random_horizontal_flip(0.5) on the inputs,
/// then normalize(mean, stddev) when mean is not empty.
BatchTransform image_augmentation(int64_t padding = 4, std::vector<double> mean = {}, std::vector<double> stddev = {});

}  // namespace xg::data
