/// Transforms: scaling, normalisation, StandardScaler, one-hot, seeded splits and CIFAR-style
/// augmentation. Plain loops over contiguous memory: none of this is differentiated.
#include "xgrad/data/transforms.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "core/dispatch.h"

namespace xg::data {
namespace {

/// Uniform integer in [0, n) from gen.
int64_t uniform_int(Generator& gen, int64_t n) {
  return std::min(n - 1, static_cast<int64_t>(gen.next_double() * static_cast<double>(n)));
}

template <class T>
void shuffle(std::vector<T>& v, Generator& gen) {
  for (size_t i = v.size(); i > 1; --i)
    std::swap(v[i - 1], v[static_cast<size_t>(uniform_int(gen, static_cast<int64_t>(i)))]);
}

DType float_result(DType d) { return d == kFloat64 ? kFloat64 : kFloat32; }

void check_images(const Tensor& x, const char* op) {
  if (x.dim() != 4) fail<ShapeError>("{}: expected images [N, C, H, W], got {}", op, shape_str(x.shape()));
}

}  // namespace

Tensor scale_pixels(const Tensor& x) {
  if (x.dtype() == kBool) fail<DTypeError>("scale_pixels: expected pixel values, got a bool tensor");
  const DType dt = float_result(x.dtype());
  const Tensor src = x.to(dt).contiguous();
  Tensor out = empty(x.shape(), dt);
  core::dispatch_float(dt, "scale_pixels", [&]<class T>() {
    const T* s = src.data<T>();
    T* d = out.data<T>();
    for (int64_t i = 0; i < out.numel(); ++i) d[i] = s[i] / T(255);
  });
  return out;
}

Tensor normalize(const Tensor& x, const std::vector<double>& mean, const std::vector<double>& stddev) {
  if (x.dim() < 2) fail<ShapeError>("normalize: expected [N, C, ...], got {}", shape_str(x.shape()));
  const int64_t n = x.size(0), c = x.size(1);
  auto check = [&](const std::vector<double>& v, const char* what) {
    if (v.size() != 1 && static_cast<int64_t>(v.size()) != c)
      fail<ShapeError>("normalize: {} has {} values but the input {} has {} channels", what, v.size(),
                       shape_str(x.shape()), c);
  };
  check(mean, "mean");
  check(stddev, "std");
  for (double s : stddev)
    if (!(s > 0)) fail<ValueError>("normalize: std values must be positive, got {}", s);
  const Tensor src = x.contiguous();
  Tensor out = empty(x.shape(), x.dtype());
  const int64_t inner = c == 0 || n == 0 ? 0 : x.numel() / (n * c);
  core::dispatch_float(x.dtype(), "normalize", [&]<class T>() {
    const T* s = src.data<T>();
    T* d = out.data<T>();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t ch = 0; ch < c; ++ch) {
        const T m = static_cast<T>(mean.size() == 1 ? mean[0] : mean[static_cast<size_t>(ch)]);
        const T sd = static_cast<T>(stddev.size() == 1 ? stddev[0] : stddev[static_cast<size_t>(ch)]);
        const int64_t base = (i * c + ch) * inner;
        for (int64_t k = 0; k < inner; ++k) d[base + k] = (s[base + k] - m) / sd;
      }
  });
  return out;
}

// ---------------------------------------------------------------- StandardScaler

StandardScaler& StandardScaler::fit(const Tensor& x) {
  if (x.dim() < 1 || x.size(0) == 0)
    fail<ShapeError>("StandardScaler::fit: expected [N, ...] with N >= 1, got {}", shape_str(x.shape()));
  if (x.dtype() == kBool) fail<DTypeError>("StandardScaler::fit: expected a numeric tensor, got bool");
  const Tensor xd = x.to(kFloat64).contiguous();
  const int64_t n = x.size(0), cols = x.numel() / n;
  const Shape feat(x.shape().begin() + 1, x.shape().end());
  Tensor mean = zeros(feat, kFloat64), scale = zeros(feat, kFloat64);
  const double* s = xd.data<double>();
  double* m = mean.data<double>();
  double* sc = scale.data<double>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < cols; ++j) m[j] += s[i * cols + j];
  for (int64_t j = 0; j < cols; ++j) m[j] /= static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < cols; ++j) sc[j] += (s[i * cols + j] - m[j]) * (s[i * cols + j] - m[j]);
  for (int64_t j = 0; j < cols; ++j) {
    sc[j] = std::sqrt(sc[j] / static_cast<double>(n));
    if (sc[j] == 0) sc[j] = 1;
  }
  mean_ = mean;
  scale_ = scale;
  return *this;
}

namespace {
Tensor affine_columns(const Tensor& x, const Tensor& mean, const Tensor& scale, bool inverse, const char* op) {
  if (!mean.defined()) fail<ValueError>("{}: call fit() first", op);
  const Shape feat(x.shape().begin() + std::min<int64_t>(1, x.dim()), x.shape().end());
  if (x.dim() < 1 || feat != mean.shape())
    fail<ShapeError>("{}: fitted on samples of shape {}, got {}", op, shape_str(mean.shape()), shape_str(x.shape()));
  if (x.dtype() == kBool) fail<DTypeError>("{}: expected a numeric tensor, got bool", op);
  const DType dt = float_result(x.dtype());
  const Tensor src = x.to(kFloat64).contiguous();
  Tensor out = empty(x.shape(), dt);
  const int64_t cols = mean.numel(), n = x.size(0);
  const double* s = src.data<double>();
  const double* m = mean.data<double>();
  const double* sc = scale.data<double>();
  core::dispatch_float(dt, op, [&]<class T>() {
    T* d = out.data<T>();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        const double v = s[i * cols + j];
        d[i * cols + j] = static_cast<T>(inverse ? v * sc[j] + m[j] : (v - m[j]) / sc[j]);
      }
  });
  return out;
}
}  // namespace

Tensor StandardScaler::transform(const Tensor& x) const {
  return affine_columns(x, mean_, scale_, false, "StandardScaler::transform");
}

Tensor StandardScaler::inverse_transform(const Tensor& x) const {
  return affine_columns(x, mean_, scale_, true, "StandardScaler::inverse_transform");
}

// ---------------------------------------------------------------- one-hot and splits

Tensor to_categorical(const Tensor& labels, int64_t num_classes) {
  if (labels.dtype() != kInt64)
    fail<DTypeError>("to_categorical: expected int64 class indices, got {}", dtype_name(labels.dtype()));
  const std::vector<int64_t> y = labels.to_vector<int64_t>();
  if (num_classes < 0) num_classes = y.empty() ? 0 : *std::max_element(y.begin(), y.end()) + 1;
  Shape shape = labels.shape();
  shape.push_back(num_classes);
  Tensor out = zeros(shape, kFloat32);
  float* d = out.data<float>();
  for (size_t i = 0; i < y.size(); ++i) {
    if (y[i] < 0 || y[i] >= num_classes)
      fail<IndexError>("to_categorical: label {} at position {} is outside [0, {})", y[i], i, num_classes);
    d[static_cast<int64_t>(i) * num_classes + y[i]] = 1.0f;
  }
  return out;
}

std::pair<std::vector<int64_t>, std::vector<int64_t>> split_indices(int64_t n, double test_fraction, uint64_t seed,
                                                                    const std::vector<int64_t>* strata) {
  if (!(test_fraction > 0 && test_fraction < 1))
    fail<ValueError>("train_test_split: test_fraction must be in (0, 1), got {}", test_fraction);
  if (n < 0) fail<ValueError>("train_test_split: negative sample count {}", n);
  if (strata && static_cast<int64_t>(strata->size()) != n)
    fail<ShapeError>("train_test_split: {} labels to stratify by, but {} samples", strata->size(), n);
  Generator gen(seed);
  const auto n_test = static_cast<int64_t>(std::llround(static_cast<double>(n) * test_fraction));
  std::vector<int64_t> train, test;
  if (!strata) {
    std::vector<int64_t> perm(static_cast<size_t>(n));
    std::iota(perm.begin(), perm.end(), int64_t{0});
    shuffle(perm, gen);
    test.assign(perm.begin(), perm.begin() + n_test);
    train.assign(perm.begin() + n_test, perm.end());
    return {train, test};
  }
  std::map<int64_t, std::vector<int64_t>> classes;
  for (int64_t i = 0; i < n; ++i) classes[(*strata)[static_cast<size_t>(i)]].push_back(i);
  // Largest-remainder apportionment of n_test over the classes.
  struct Quota {
    std::vector<int64_t>* members;
    int64_t take;
    double remainder;
  };
  std::vector<Quota> quotas;
  int64_t assigned = 0;
  for (auto& [label, members] : classes) {
    const double exact = static_cast<double>(members.size()) * static_cast<double>(n_test) / static_cast<double>(n);
    const auto take = static_cast<int64_t>(std::floor(exact));
    quotas.push_back({&members, take, exact - static_cast<double>(take)});
    assigned += take;
  }
  std::vector<size_t> order(quotas.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return quotas[a].remainder > quotas[b].remainder; });
  for (size_t k = 0; assigned < n_test && k < order.size(); ++k, ++assigned) ++quotas[order[k]].take;
  for (auto& q : quotas) {
    shuffle(*q.members, gen);
    test.insert(test.end(), q.members->begin(), q.members->begin() + q.take);
    train.insert(train.end(), q.members->begin() + q.take, q.members->end());
  }
  shuffle(train, gen);
  shuffle(test, gen);
  return {train, test};
}

TensorSplit train_test_split(const Tensor& x, const Tensor& y, double test_fraction, uint64_t seed, bool stratify) {
  if (x.dim() == 0 || y.dim() == 0 || x.size(0) != y.size(0))
    fail<ShapeError>("train_test_split: x {} and y {} must agree on the first (sample) dim", shape_str(x.shape()),
                     shape_str(y.shape()));
  std::vector<int64_t> strata;
  if (stratify) {
    if (y.dtype() != kInt64 || y.dim() != 1)
      fail<DTypeError>("train_test_split: stratify needs int64 class labels [N], got {} {}", dtype_name(y.dtype()),
                       shape_str(y.shape()));
    strata = y.to_vector<int64_t>();
  }
  auto [tr, te] = split_indices(x.size(0), test_fraction, seed, stratify ? &strata : nullptr);
  return {gather_rows(x, tr), gather_rows(x, te), gather_rows(y, tr), gather_rows(y, te)};
}

std::pair<std::shared_ptr<Subset>, std::shared_ptr<Subset>> train_test_split(std::shared_ptr<const Dataset> dataset,
                                                                             double test_fraction, uint64_t seed,
                                                                             bool stratify) {
  if (!dataset) fail<ValueError>("train_test_split: dataset is null");
  std::vector<int64_t> strata;
  if (stratify) {
    const Tensor y = dataset->targets();
    if (y.dtype() != kInt64 || y.dim() != 1)
      fail<DTypeError>("train_test_split: stratify needs int64 class labels [N], got {} {}", dtype_name(y.dtype()),
                       shape_str(y.shape()));
    strata = y.to_vector<int64_t>();
  }
  auto [tr, te] = split_indices(dataset->size(), test_fraction, seed, stratify ? &strata : nullptr);
  return {std::make_shared<Subset>(dataset, std::move(tr)), std::make_shared<Subset>(dataset, std::move(te))};
}

// ---------------------------------------------------------------- augmentation

Tensor random_crop(const Tensor& x, int64_t padding, Generator& gen) {
  check_images(x, "random_crop");
  if (padding < 0) fail<ValueError>("random_crop: padding must be >= 0, got {}", padding);
  const Tensor src = x.contiguous();
  Tensor out = empty(x.shape(), x.dtype());
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  core::dispatch_float(x.dtype(), "random_crop", [&]<class T>() {
    const T* s = src.data<T>();
    T* d = out.data<T>();
    for (int64_t i = 0; i < n; ++i) {
      // The crop window's top-left corner in the padded image, in [0, 2*padding].
      const int64_t dy = uniform_int(gen, 2 * padding + 1) - padding;
      const int64_t dx = uniform_int(gen, 2 * padding + 1) - padding;
      const int64_t j0 = std::clamp<int64_t>(-dx, 0, w), j1 = std::clamp<int64_t>(w - dx, 0, w);
      for (int64_t ch = 0; ch < c; ++ch) {
        const T* img = s + (i * c + ch) * h * w;
        T* o = d + (i * c + ch) * h * w;
        for (int64_t r = 0; r < h; ++r) {
          T* row = o + r * w;
          const int64_t sr = r + dy;
          if (sr < 0 || sr >= h) {
            std::fill(row, row + w, T(0));
            continue;
          }
          if (j1 <= j0) {  // shifted by more than the width: all padding
            std::fill(row, row + w, T(0));
            continue;
          }
          std::fill(row, row + j0, T(0));
          std::copy(img + sr * w + j0 + dx, img + sr * w + j1 + dx, row + j0);
          std::fill(row + j1, row + w, T(0));
        }
      }
    }
  });
  return out;
}

Tensor random_horizontal_flip(const Tensor& x, Generator& gen, double p) {
  check_images(x, "random_horizontal_flip");
  if (!(p >= 0 && p <= 1)) fail<ValueError>("random_horizontal_flip: p must be in [0, 1], got {}", p);
  const Tensor src = x.contiguous();
  Tensor out = empty(x.shape(), x.dtype());
  const int64_t n = x.size(0), rows = x.size(1) * x.size(2), w = x.size(3);
  core::dispatch_float(x.dtype(), "random_horizontal_flip", [&]<class T>() {
    const T* s = src.data<T>();
    T* d = out.data<T>();
    for (int64_t i = 0; i < n; ++i) {
      const bool flip = gen.next_double() < p;
      for (int64_t r = 0; r < rows; ++r) {
        const T* in = s + (i * rows + r) * w;
        T* o = d + (i * rows + r) * w;
        if (flip)
          std::reverse_copy(in, in + w, o);
        else
          std::copy(in, in + w, o);
      }
    }
  });
  return out;
}

BatchTransform image_augmentation(int64_t padding, std::vector<double> mean, std::vector<double> stddev) {
  if (padding < 0) fail<ValueError>("image_augmentation: padding must be >= 0, got {}", padding);
  if (mean.size() != stddev.size())
    fail<ValueError>("image_augmentation: mean has {} values but std has {}", mean.size(), stddev.size());
  return [padding, mean = std::move(mean), stddev = std::move(stddev)](Batch b, Generator& gen) {
    b.inputs = random_horizontal_flip(random_crop(b.inputs, padding, gen), gen);
    if (!mean.empty()) b.inputs = normalize(b.inputs, mean, stddev);
    return b;
  };
}

}  // namespace xg::data
