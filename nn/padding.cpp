/// The padding layers over xg::pad.
#include "xgrad/nn/padding.h"

#include "xgrad/ops/pad.h"

namespace xg::nn {

Shape PadSizes::expand(size_t dims, const char* layer) const {
  if (all_) return Shape(2 * dims, v_[0]);
  if (v_.size() != 2 * dims) fail<ValueError>("{}: padding needs {} values, got {}", layer, 2 * dims, v_.size());
  return v_;
}

PadLayer::PadLayer(const char* name, PadSizes padding, size_t dims, std::string mode, double value)
    : Module(name), pads_(padding.expand(dims, name)), mode_(std::move(mode)), value_(value) {}

Tensor PadLayer::forward(const Tensor& input) { return pad(input, pads_, mode_, value_); }

std::string PadLayer::extra_repr() const {
  std::string s;
  for (size_t i = 0; i < pads_.size(); ++i) s += (i ? ", " : "") + std::to_string(pads_[i]);
  s = "(" + s + ")";
  if (mode_ == "constant" && name() != "ZeroPad2d") s += fmt::format(", value={}", value_);
  return s;
}

}  // namespace xg::nn
