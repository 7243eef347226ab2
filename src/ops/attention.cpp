/// scaled_dot_product_attention: one op over softmax(q kᵀ·scale + mask) v. The forward runs the
/// two products as GEMMs and, between them, one pass per score row that scales, masks and takes a
/// max-subtracted softmax (summed in double); the probabilities are kept for the fused backward.
/// The formula beside it recomputes them from q and k with differentiable ops, so second
/// derivatives flow through them.
#include "xgrad/ops/attention.h"

#include <cmath>
#include <limits>

#include "kernels/parallel.h"
#include "ops/helpers.h"
#include "ops/op.h"
#include "xgrad/ops/elementwise.h"
#include "xgrad/ops/indexing.h"
#include "xgrad/ops/matmul.h"
#include "xgrad/ops/random.h"
#include "xgrad/ops/reduction.h"
#include "xgrad/ops/softmax.h"

namespace xg {

using namespace ops;

namespace {

constexpr const char* kOp = "scaled_dot_product_attention";

/// What backward keeps besides q, k, v and the mask: with dropout, the probabilities before it
/// (without, they are output 1, saved as such) and the keep mask scaled by 1/(1-p); the options.
struct SdpaAttrs {
  Tensor probs, keep;
  double scale = 1.0, dropout_p = 0.0;
  bool causal = false;
  NamedAttrs fields() const { return {{"dropout_p", dropout_p}, {"is_causal", causal}, {"scale", scale}}; }
};

/// The scores' additive bias for the mask and causality, [.., L, S] broadcastable: a float mask
/// itself (differentiable), 0 / -inf for a bool one; undefined when there is neither.
Tensor score_bias(const Tensor& mask, bool causal, int64_t L, int64_t S, DType dt) {
  Tensor bias;
  if (mask.defined())
    bias = mask.dtype() == kBool ? where(mask, scalar(0.0, dt), scalar(-std::numeric_limits<double>::infinity(), dt))
                                 : mask;
  if (causal) {
    // j > i is masked: the strictly upper triangle of [L, S].
    const Tensor i = arange(L).reshape({L, 1}), j = arange(S).reshape({1, S});
    const Tensor c = where(gt(j, i), scalar(-std::numeric_limits<double>::infinity(), dt), scalar(0.0, dt));
    bias = bias.defined() ? add(bias, c) : c;
  }
  return bias;
}

/// The probabilities from q, k and the bias, with differentiable ops (the formula's recomputation).
Tensor probs_of(const Tensor& q, const Tensor& k, const Tensor& bias, double scale) {
  Tensor s = mul(matmul(q, k.transpose(-2, -1)), scalar(scale, q.dtype()));
  if (bias.defined()) s = add(s, bias);
  return softmax(s, -1);
}

/// One backward, from probabilities p (recomputed or saved): gradients for q, k, v and the mask.
Grads sdpa_grads(const Ctx<SdpaAttrs, 4, 2>& c, const Tensor& p) {
  const SdpaAttrs& a = c.attrs();
  const Tensor q = c.input(0), k = c.input(1), v = c.input(2), m = c.input(3);
  const Tensor pd = a.keep.defined() ? mul(p, a.keep) : p;
  // The probabilities are an output too (need_weights): their gradient joins the one through v.
  Tensor gpd;
  if (c.grad(0).defined()) gpd = matmul(c.grad(0), v.transpose(-2, -1));
  if (c.grad(1).defined()) gpd = gpd.defined() ? add(gpd, c.grad(1)) : c.grad(1);
  Tensor gq, gk, gv, gm;
  if (c.needs(2) && c.grad(0).defined()) gv = matmul(pd.transpose(-2, -1), c.grad(0));
  if (gpd.defined() && (c.needs(0) || c.needs(1) || c.needs(3))) {
    const Tensor gp = a.keep.defined() ? mul(gpd, a.keep) : gpd;
    const Tensor gs = mul(p, sub(gp, sum(mul(gp, p), {-1}, true)));
    const Tensor sc = scalar(a.scale, q.dtype());
    if (c.needs(0)) gq = mul(matmul(gs, k), sc);
    if (c.needs(1)) gk = mul(matmul(gs.transpose(-2, -1), q), sc);
    if (c.needs(3)) gm = autograd::sum_to(gs, m.shape());
  }
  return {gq, gk, gv, gm};
}

const OpDef<SdpaAttrs, 4, 2> kSdpa{
    .name = kOp,
    .saves = {.inputs = 0b1111, .outputs = 0b10},
    .backward = [](const Ctx<SdpaAttrs, 4, 2>& c) -> Grads {
      const SdpaAttrs& a = c.attrs();
      const Tensor q = c.input(0), k = c.input(1);
      const Tensor bias = score_bias(c.input(3), a.causal, q.size(-2), k.size(-2), q.dtype());
      return sdpa_grads(c, probs_of(q, k, bias, a.scale));
    },
    .fused = [](const Ctx<SdpaAttrs, 4, 2>& c) -> Grads {
      return sdpa_grads(c, c.attrs().keep.defined() ? c.attrs().probs : c.output(1));
    },
};

/// In place over contiguous scores [B, L, S]: s·scale + bias (bias [B, L, S] or null), keys after
/// the query masked when causal, then a max-subtracted softmax per row (sums in double). A row with
/// every key masked becomes NaN, as PyTorch's.
template <class T>
void scale_mask_softmax(T* s, const T* bias, int64_t B, int64_t L, int64_t S, T scale, bool causal) {
  const int64_t rows = B * L;
  kernels::parallel_for(0, rows, std::max<int64_t>(1, kernels::kElementwiseGrain / std::max<int64_t>(S, 1)),
                        [&](int64_t rb, int64_t re) {
                          constexpr T ninf = -std::numeric_limits<T>::infinity();
                          for (int64_t r = rb; r < re; ++r) {
                            T* row = s + r * S;
                            const T* br = bias ? bias + r * S : nullptr;
                            const int64_t i = r % L;
                            T m = ninf;
                            for (int64_t j = 0; j < S; ++j) {
                              T v = row[j] * scale;
                              if (br) v += br[j];
                              if (causal && j > i) v = ninf;
                              row[j] = v;
                              m = std::max(m, v);
                            }
                            if (m == ninf) {
                              for (int64_t j = 0; j < S; ++j) row[j] = std::numeric_limits<T>::quiet_NaN();
                              continue;
                            }
                            double sum = 0;
                            for (int64_t j = 0; j < S; ++j) {
                              const T e = std::exp(row[j] - m);
                              row[j] = e;
                              sum += static_cast<double>(e);
                            }
                            const T inv = static_cast<T>(1.0 / sum);
                            for (int64_t j = 0; j < S; ++j) row[j] *= inv;
                          }
                        });
}

std::vector<Tensor> sdpa(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, double dropout_p,
                         bool causal, double scale, Generator* gen) {
  check_defined(q, kOp, "query");
  check_defined(k, kOp, "key");
  check_defined(v, kOp, "value");
  if (!is_floating(q.dtype()) || k.dtype() != q.dtype() || v.dtype() != q.dtype())
    fail<DTypeError>("{}: query, key and value must share one floating dtype, got {}, {} and {}", kOp,
                     dtype_name(q.dtype()), dtype_name(k.dtype()), dtype_name(v.dtype()));
  if (q.dim() < 2 || k.dim() != q.dim() || v.dim() != q.dim())
    fail<ShapeError>("{}: query {}, key {} and value {} must have the same rank, at least 2", kOp, shape_str(q.shape()),
                     shape_str(k.shape()), shape_str(v.shape()));
  const int64_t L = q.size(-2), E = q.size(-1), S = k.size(-2);
  const Shape lead(q.shape().begin(), q.shape().end() - 2);
  if (k.size(-1) != E || v.size(-2) != S || Shape(k.shape().begin(), k.shape().end() - 2) != lead ||
      Shape(v.shape().begin(), v.shape().end() - 2) != lead)
    fail<ShapeError>(
        "{}: expected query [..., L, E], key [..., S, E] and value [..., S, Ev] with the same leading "
        "dims, got {}, {} and {}",
        kOp, shape_str(q.shape()), shape_str(k.shape()), shape_str(v.shape()));
  if (!(dropout_p >= 0.0 && dropout_p < 1.0))
    fail<ValueError>("{}: dropout_p must be in [0, 1), got {}", kOp, dropout_p);
  if (!(scale >= 0.0) || !std::isfinite(scale))
    fail<ValueError>("{}: scale must be positive (or 0: 1/sqrt(E)), got {}", kOp, scale);
  const double sc = scale > 0.0 ? scale : 1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(E, 1)));
  Shape score_shape = lead;
  score_shape.push_back(L);
  score_shape.push_back(S);
  if (mask.defined()) {
    if (mask.dtype() != kBool && mask.dtype() != q.dtype())
      fail<DTypeError>("{}: attn_mask must be bool or query's dtype {}, got {}", kOp, dtype_name(q.dtype()),
                       dtype_name(mask.dtype()));
    if (broadcast_shapes(mask.shape(), score_shape, kOp) != score_shape)
      fail<ShapeError>("{}: attn_mask of shape {} does not broadcast to the scores' shape {}", kOp,
                       shape_str(mask.shape()), shape_str(score_shape));
  }
  const DType dt = q.dtype();
  int64_t B = 1;
  for (int64_t d : lead) B *= d;
  Tensor probs, keep, weights, out;
  {
    NoGradGuard ng;
    probs = matmul(raw(q), raw(k).transpose(-2, -1)).contiguous();
    Tensor bias;
    if (mask.defined()) {
      bias = mask.dtype() == kBool
                 ? where(raw(mask), scalar(0.0, dt), scalar(-std::numeric_limits<double>::infinity(), dt))
                 : raw(mask);
      bias = bias.expand(score_shape).contiguous();
    }
    if (probs.numel() > 0)
      core::dispatch_float(dt, kOp, [&]<class T>() {
        scale_mask_softmax<T>(probs.data<T>(), bias.defined() ? bias.data<T>() : nullptr, B, L, S, static_cast<T>(sc),
                              causal);
      });
    weights = probs;
    if (dropout_p > 0.0) {
      keep = mul(bernoulli(full(score_shape, 1.0 - dropout_p, dt), gen), scalar(1.0 / (1.0 - dropout_p), dt));
      weights = mul(probs, keep);
    }
    out = matmul(weights, raw(v));
  }
  std::vector<Tensor> outs{out, weights};
  // Without dropout the weights are the probabilities backward reads: saved as an output, so an
  // in-place change to them is caught.
  kSdpa.record({&q, &k, &v, &mask}, {&outs[0], &outs[1]},
               SdpaAttrs{keep.defined() ? probs : Tensor(), keep, sc, dropout_p, causal});
  return outs;
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask, double dropout_p, bool is_causal, double scale,
                                    Generator* gen) {
  return sdpa(query, key, value, attn_mask, dropout_p, is_causal, scale, gen)[0];
}

std::vector<Tensor> scaled_dot_product_attention_with_weights(const Tensor& query, const Tensor& key,
                                                              const Tensor& value, const Tensor& attn_mask,
                                                              double dropout_p, bool is_causal, double scale,
                                                              Generator* gen) {
  return sdpa(query, key, value, attn_mask, dropout_p, is_causal, scale, gen);
}

namespace {
/// The registry's form: the op's tensors and its two flags (dropout 0 in the generated checks).
Tensor sdpa_registered(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, double dropout_p,
                       bool is_causal) {
  return scaled_dot_product_attention(q, k, v, mask, dropout_p, is_causal);
}
const RegisterOp reg_sdpa{shaped(
    expose(kSdpa, sdpa_registered, {"query", "key", "value", "attn_mask"}, {"dropout_p", "is_causal"}, {0.0, false}),
    {{2, 3, 4}, {2, 5, 4}, {2, 5, 3}, {3, 5}})};
}  // namespace

}  // namespace xg
