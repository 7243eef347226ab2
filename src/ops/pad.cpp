/// pad: one OpDef for every mode. The constant mode copies the input into a filled tensor, its
/// gradient is the same pad with the pads negated (padding crops what cropping padded); the other
/// modes gather along each padded dim by a table of source positions, their gradient adds back
/// through the same tables (index_add), so second derivatives flow through both.
#include "xgrad/ops/pad.h"

#include "ops/op.h"
#include "xgrad/ops/indexing.h"
#include "xgrad/ops/shape.h"

namespace xg {

using namespace ops;

namespace {

/// The source position of each output position along one dim of size n padded by (before, after).
Tensor source_positions(int64_t n, int64_t before, int64_t after, const std::string& mode) {
  const int64_t m = n + before + after;
  std::vector<int64_t> src(static_cast<size_t>(std::max<int64_t>(m, 0)));
  for (int64_t j = 0; j < m; ++j) {
    int64_t s = j - before;
    if (mode == "reflect")
      s = s < 0 ? -s : (s >= n ? 2 * (n - 1) - s : s);
    else if (mode == "replicate")
      s = std::clamp<int64_t>(s, 0, n - 1);
    else  // circular
      s = ((s % n) + n) % n;
    src[static_cast<size_t>(j)] = s;
  }
  return from_vector(src, {static_cast<int64_t>(src.size())});
}

/// What backward needs: the pads, the mode, and per padded dim its input size and source table.
struct PadAttrs {
  Shape pads;
  std::string mode;
  double value = 0;
  Shape dims, sizes;
  std::vector<Tensor> tables;
  NamedAttrs fields() const { return {{"pads", pads}, {"mode", mode}, {"value", value}}; }
};

Shape negated(const Shape& p) {
  Shape n(p.size());
  for (size_t i = 0; i < p.size(); ++i) n[i] = -p[i];
  return n;
}

const OpDef<PadAttrs> kPad{
    .name = "pad",
    .backward = [](const Ctx<PadAttrs>& c) -> Grads {
      const PadAttrs& a = c.attrs();
      if (a.mode == "constant") return {pad(c.grad(), negated(a.pads), "constant", 0.0)};
      Tensor g = c.grad();
      for (size_t k = a.dims.size(); k-- > 0;) {
        Shape s = g.shape();
        s[static_cast<size_t>(a.dims[k])] = a.sizes[k];
        g = index_add(zeros(s, g.dtype()), a.dims[k], a.tables[k], g);
      }
      return {g};
    },
};

/// The checks of PyTorch's F.pad, with its limits for the non-constant modes.
void check_pad(const Tensor& input, const Shape& pads, const std::string& mode) {
  check_defined(input, "pad", "input");
  if (pads.size() % 2 != 0) fail<ValueError>("pad: the pad list must have an even length, got {}", pads.size());
  const auto npd = static_cast<int64_t>(pads.size() / 2);
  if (npd > input.dim())
    fail<ValueError>("pad: {} pads cover {} dims but input of shape {} has {}", pads.size(), npd,
                     shape_str(input.shape()), input.dim());
  if (mode == "constant") return;
  if (mode != "reflect" && mode != "replicate" && mode != "circular")
    fail<ValueError>("pad: mode must be \"constant\", \"reflect\", \"replicate\" or \"circular\", got \"{}\"", mode);
  if (npd > 3 || input.dim() < npd + 1)
    fail<ValueError>(
        "pad: {} mode pads 1 to 3 trailing dims of an input with at least one dim more; got {} pads "
        "for input of shape {}",
        mode, pads.size(), shape_str(input.shape()));
  for (int64_t k = 0; k < npd; ++k) {
    const int64_t n = input.shape()[static_cast<size_t>(input.dim() - 1 - k)];
    const int64_t b = pads[static_cast<size_t>(2 * k)], e = pads[static_cast<size_t>(2 * k + 1)];
    const bool ok = mode == "reflect" ? b < n && e < n : mode == "circular" ? b <= n && e <= n && n > 0 : n > 0;
    if (!ok || n + b + e < 0)
      fail<ValueError>("pad: {} padding ({}, {}) does not fit dim {} of size {} (input {})", mode, b, e,
                       input.dim() - 1 - k, n, shape_str(input.shape()));
  }
}

}  // namespace

Tensor pad(const Tensor& input, const Shape& pads, const std::string& mode, double value) {
  check_pad(input, pads, mode);
  const auto npd = static_cast<int64_t>(pads.size() / 2);
  PadAttrs a{pads, mode, value, {}, {}, {}};
  Shape out_shape = input.shape();
  for (int64_t k = 0; k < npd; ++k) {
    const auto d = static_cast<size_t>(input.dim() - 1 - k);
    out_shape[d] += pads[static_cast<size_t>(2 * k)] + pads[static_cast<size_t>(2 * k + 1)];
    if (out_shape[d] < 0)
      fail<ValueError>("pad: padding ({}, {}) makes dim {} of input {} negative", pads[static_cast<size_t>(2 * k)],
                       pads[static_cast<size_t>(2 * k + 1)], d, shape_str(input.shape()));
  }
  Tensor out;
  {
    NoGradGuard ng;
    const Tensor x = input.detach();
    if (mode == "constant") {
      out = full(out_shape, value, input.dtype());
      Tensor src = x, dst = out;
      bool empty_region = false;
      for (int64_t k = 0; k < npd; ++k) {
        const int64_t d = input.dim() - 1 - k, n = input.shape()[static_cast<size_t>(d)];
        const int64_t b = pads[static_cast<size_t>(2 * k)], e = pads[static_cast<size_t>(2 * k + 1)];
        const int64_t len = n + std::min<int64_t>(b, 0) + std::min<int64_t>(e, 0);
        if (len <= 0) {
          empty_region = true;
          break;
        }
        src = src.narrow(d, std::max<int64_t>(-b, 0), len);
        dst = dst.narrow(d, std::max<int64_t>(b, 0), len);
      }
      if (!empty_region && src.numel() > 0) dst.copy_(src);
    } else {
      out = x;
      for (int64_t k = 0; k < npd; ++k) {
        const int64_t d = input.dim() - 1 - k, n = input.shape()[static_cast<size_t>(d)];
        const int64_t b = pads[static_cast<size_t>(2 * k)], e = pads[static_cast<size_t>(2 * k + 1)];
        if (b == 0 && e == 0) continue;
        Tensor table = source_positions(n, b, e, mode);
        out = index_select(out, d, table);
        a.dims.push_back(d);
        a.sizes.push_back(n);
        a.tables.push_back(std::move(table));
      }
      if (out.is_same(x)) out = x.clone();
    }
  }
  return kPad.record(std::move(out), {&input}, std::move(a));
}

namespace {
Tensor pad_entry(const Tensor& input, const Shape& pads, const std::string& mode, double value) {
  return pad(input, pads, mode, value);
}
const RegisterOp reg_pad{shaped(
    expose(kPad, pad_entry, {"input"}, {"pad", "mode", "value"}, {Shape{2, 1, -1, 2}, std::string("reflect"), 0.0}),
    {{2, 3, 4}})};
}  // namespace

}  // namespace xg
