#pragma once
/// Image data sets read from their official binary formats: MNIST and Fashion-MNIST (IDX files,
/// gzip-compressed or not) and CIFAR-10 (the binary batches). Pixels stay uint8 in memory and
/// become float32 one batch at a time, so a loaded MNIST costs ~47 MB, not ~190 MB.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "xgrad/data/dataset.h"

namespace xg::data {

/// How image batches come out of an image dataset.
struct ImageOptions {
  /// Divide pixels by 255 into [0, 1] (true) or keep 0..255 as floats (false).
  bool scale = true;
  /// [N, C*H*W] (true) instead of [N, C, H, W] (false): the shape an MLP wants.
  bool flatten = false;
};

/// Images as uint8 bytes [N, C, H, W] and int64 class labels, converted to float32 per batch.
class ImageDataset : public Dataset {
 public:
  int64_t size() const override { return n_; }
  Batch get_batch(const std::vector<int64_t>& indices) const override;
  Tensor targets() const override;
  std::vector<std::string> class_names() const override { return class_names_; }
  /// [C, H, W] of one image.
  Shape image_shape() const { return {channels_, height_, width_}; }
  int64_t num_classes() const { return static_cast<int64_t>(class_names_.size()); }
  /// The raw bytes, N*C*H*W of them, sample-major (for statistics and tests).
  const std::vector<uint8_t>& pixels() const { return pixels_; }
  const std::vector<uint8_t>& labels() const { return labels_; }

 protected:
  ImageDataset() = default;
  std::vector<uint8_t> pixels_;  ///< may start with a header: images begin at pixel_offset_
  size_t pixel_offset_ = 0;
  std::vector<uint8_t> labels_;
  int64_t n_ = 0, channels_ = 1, height_ = 0, width_ = 0;
  std::vector<std::string> class_names_;
  ImageOptions opts_;
};

/// MNIST from a folder holding the four IDX files (`train-images-idx3-ubyte`,
/// `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`), each plain or
/// with a `.gz` suffix (the `train-images.idx3-ubyte` spelling is accepted too). Inputs are
/// [N, 1, 28, 28] float32 (see ImageOptions), targets int64 [N] in 0..9. Malformed files throw
/// IOError naming the file and the problem.
class MNIST : public ImageDataset {
 public:
  explicit MNIST(const std::filesystem::path& dir, Split split = Split::Train, ImageOptions opts = {});

 protected:
  /// `name` prefixes error messages; `names` are the class names.
  MNIST(const std::filesystem::path& dir, Split split, ImageOptions opts, const char* name,
        std::vector<std::string> names);
};

/// Fashion-MNIST: MNIST's format and file names, ten clothing classes.
class FashionMNIST : public MNIST {
 public:
  explicit FashionMNIST(const std::filesystem::path& dir, Split split = Split::Train, ImageOptions opts = {});
};

/// CIFAR-10 from a folder holding the official binary batches: `data_batch_1.bin` …
/// `data_batch_5.bin` (train) or `test_batch.bin` (test); each record is one label byte and
/// 3072 pixel bytes (1024 red, 1024 green, 1024 blue, row-major). Inputs [N, 3, 32, 32] float32,
/// targets int64 [N] in 0..9.
class CIFAR10 : public ImageDataset {
 public:
  explicit CIFAR10(const std::filesystem::path& dir, Split split = Split::Train, ImageOptions opts = {});
};

/// Reads a whole file, inflating it when it starts with the gzip magic bytes (several gzip
/// members are concatenated as gunzip does). Throws IOError naming the file on a missing,
/// unreadable, truncated or corrupt file.
std::vector<uint8_t> read_maybe_gzip(const std::filesystem::path& file);

}  // namespace xg::data
