#pragma once
/// Padding layers over xg::pad: ZeroPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d and
/// the 1-D ConstantPad1d, ReflectionPad1d, ReplicationPad1d.
#include <array>
#include <string>

#include "xgrad/nn/module.h"

namespace xg::nn {

/// Pads given as one int for every side (2) or as {left, right, top, bottom} (2-D) or {left, right}
/// (1-D), as PyTorch's tuples.
class PadSizes {
 public:
  PadSizes(int64_t v) : v_{v}, all_(true) {}  // NOLINT(google-explicit-constructor)
  PadSizes(std::initializer_list<int64_t> v) : v_(v) {}
  /// The pad list of F.pad for n padded dims.
  Shape expand(size_t dims, const char* layer) const;

 private:
  Shape v_;
  bool all_ = false;
};

/// A layer that pads its input by pad(input, pads, mode, value).
class PadLayer : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  const Shape& padding() const { return pads_; }

 protected:
  PadLayer(const char* name, PadSizes padding, size_t dims, std::string mode, double value = 0.0);

 private:
  Shape pads_;
  std::string mode_;
  double value_;
};

class ZeroPad2d : public PadLayer {
 public:
  explicit ZeroPad2d(PadSizes padding) : PadLayer("ZeroPad2d", padding, 2, "constant") {}
};
class ConstantPad2d : public PadLayer {
 public:
  ConstantPad2d(PadSizes padding, double value) : PadLayer("ConstantPad2d", padding, 2, "constant", value) {}
};
class ReflectionPad2d : public PadLayer {
 public:
  explicit ReflectionPad2d(PadSizes padding) : PadLayer("ReflectionPad2d", padding, 2, "reflect") {}
};
class ReplicationPad2d : public PadLayer {
 public:
  explicit ReplicationPad2d(PadSizes padding) : PadLayer("ReplicationPad2d", padding, 2, "replicate") {}
};
class ConstantPad1d : public PadLayer {
 public:
  ConstantPad1d(PadSizes padding, double value) : PadLayer("ConstantPad1d", padding, 1, "constant", value) {}
};
class ReflectionPad1d : public PadLayer {
 public:
  explicit ReflectionPad1d(PadSizes padding) : PadLayer("ReflectionPad1d", padding, 1, "reflect") {}
};
class ReplicationPad1d : public PadLayer {
 public:
  explicit ReplicationPad1d(PadSizes padding) : PadLayer("ReplicationPad1d", padding, 1, "replicate") {}
};

}  // namespace xg::nn
