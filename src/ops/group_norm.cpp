/// group_norm and instance_norm, composed of layer_norm (its fused forward, and its backward formula
/// that recomputes the statistics, so second derivatives flow) and a per-channel affine step.
#include "ops/helpers.h"
#include "xgrad/ops/elementwise.h"
#include "xgrad/ops/norm.h"
#include "xgrad/ops/reduction.h"
#include "xgrad/ops/shape.h"

namespace xg {

using namespace ops;

namespace {

/// A per-channel [C] tensor shaped [1, C, 1, ...] for an input of rank r.
Tensor channel_view(const Tensor& p, int64_t r) {
  Shape s(static_cast<size_t>(r), 1);
  s[1] = p.numel();
  return reshape(p, s);
}

void check_channel_param(const Tensor& p, int64_t c, const char* op, const char* name) {
  if (p.defined() && p.shape() != Shape{c})
    fail<ShapeError>("{}: {} of shape {} does not match the {} channels", op, name, shape_str(p.shape()), c);
}

/// y·weight + bias per channel (either may be undefined).
Tensor channel_affine(Tensor y, const Tensor& weight, const Tensor& bias) {
  if (weight.defined()) y = mul(y, channel_view(weight, y.dim()));
  if (bias.defined()) y = add(y, channel_view(bias, y.dim()));
  return y;
}

void check_nc(const Tensor& input, const char* op) {
  check_defined(input, op, "input");
  if (input.dim() < 2)
    fail<ShapeError>("{}: expected an input of shape [N, C, ...] with at least 2 dims, got {}", op,
                     shape_str(input.shape()));
  if (!is_floating(input.dtype()))
    fail<DTypeError>("{}: needs a floating input, got {}", op, dtype_name(input.dtype()));
}

}  // namespace

Tensor group_norm(const Tensor& input, int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
  check_nc(input, "group_norm");
  const int64_t n = input.size(0), c = input.size(1);
  if (num_groups <= 0 || c % num_groups != 0)
    fail<ValueError>("group_norm: num_groups = {} must be positive and divide the {} channels of input {}", num_groups,
                     c, shape_str(input.shape()));
  check_channel_param(weight, c, "group_norm", "weight");
  check_channel_param(bias, c, "group_norm", "bias");
  if (input.numel() == 0) return channel_affine(input * 1.0, weight, bias);
  const int64_t k = input.numel() / (n * num_groups);
  const Tensor y = layer_norm(reshape(input, {n, num_groups, k}), {k}, Tensor(), Tensor(), eps);
  return channel_affine(reshape(y, input.shape()), weight, bias);
}

Tensor instance_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                     const Tensor& bias, bool use_input_stats, double momentum, double eps) {
  constexpr const char* op = "instance_norm";
  check_nc(input, op);
  const int64_t n = input.size(0), c = input.size(1);
  for (auto [t, name] :
       {std::pair{&weight, "weight"}, {&bias, "bias"}, {&running_mean, "running_mean"}, {&running_var, "running_var"}})
    check_channel_param(*t, c, op, name);
  if (running_mean.defined() != running_var.defined())
    fail<ValueError>("instance_norm: running_mean and running_var must be both given or both undefined");
  const int64_t s = n * c == 0 ? 0 : input.numel() / (n * c);
  if (!use_input_stats) {
    if (!running_mean.defined()) fail<ValueError>("instance_norm: without input statistics it needs running stats");
    const int64_t r = input.dim();
    const Tensor y =
        mul(sub(input, channel_view(running_mean.detach(), r)), channel_view(rsqrt(running_var.detach() + eps), r));
    return channel_affine(y, weight, bias);
  }
  if (s <= 1)
    fail<ValueError>(
        "instance_norm: expected more than 1 spatial element per channel when training, got input of "
        "shape {}",
        shape_str(input.shape()));
  const Tensor x3 = reshape(input, {n, c, s});
  if (running_mean.defined() && n > 0) {
    NoGradGuard ng;
    const Tensor xd = x3.detach();
    const Tensor m = mean(mean(xd, {2}), {0}), v = mean(var(xd, {2}, true), {0});
    Tensor(running_mean).copy_(running_mean * (1 - momentum) + m.to(running_mean.dtype()) * momentum);
    Tensor(running_var).copy_(running_var * (1 - momentum) + v.to(running_var.dtype()) * momentum);
  }
  const Tensor y = layer_norm(x3, {s}, Tensor(), Tensor(), eps);
  return channel_affine(reshape(y, input.shape()), weight, bias);
}

}  // namespace xg
