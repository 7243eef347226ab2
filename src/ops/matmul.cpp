/// Matrix products: forwards call kernels::gemm with operands described by their strides (a
/// transposed view is a GEMM flag, not a copy); backwards are products of the same kind.
#include "xgrad/ops/matmul.h"

#include "kernels/gemm.h"
#include "kernels/parallel.h"
#include "ops/helpers.h"
#include "ops/op.h"

namespace xg {

using namespace ops;

namespace {

/// How GEMM reads a 2-D view: row-major with leading dim ld, or transposed.
struct Operand {
  Tensor t;  // keeps a copy alive when one was needed
  bool trans = false;
  int64_t ld = 1;
};

Operand operand(const Tensor& x, int64_t rows, int64_t cols, int64_t s0, int64_t s1) {
  if (s1 == 1 && (s0 >= cols || rows == 1)) return {x, false, std::max<int64_t>(s0, std::max<int64_t>(cols, 1))};
  if (s0 == 1 && (s1 >= rows || cols == 1)) return {x, true, std::max<int64_t>(s1, std::max<int64_t>(rows, 1))};
  return {};
}

/// C[n,m] = A[n,k] · B[k,m] for 2-D views of one float dtype, written into contiguous c.
template <class T>
void gemm_2d(const Tensor& a, const Tensor& b, T* c, int64_t ldc, const T* pa, const T* pb, T beta = T(0)) {
  const int64_t n = a.shape()[0], k = a.shape()[1], m = b.shape()[1];
  Operand oa = operand(a, n, k, a.strides()[0], a.strides()[1]);
  Operand ob = operand(b, k, m, b.strides()[0], b.strides()[1]);
  Tensor ca, cb;
  if (!oa.t.defined()) {
    ca = a.detach().contiguous();
    oa = {ca, false, std::max<int64_t>(k, 1)};
    pa = ca.data<T>();
  }
  if (!ob.t.defined()) {
    cb = b.detach().contiguous();
    ob = {cb, false, std::max<int64_t>(m, 1)};
    pb = cb.data<T>();
  }
  kernels::gemm(oa.trans, ob.trans, n, m, k, T(1), pa, oa.ld, pb, ob.ld, beta, c, ldc);
}

void check_float_pair(const Tensor& a, const Tensor& b, const char* op) {
  check_defined(a, op, "input");
  check_defined(b, op, "other");
  if (!is_floating(a.dtype()) || a.dtype() != b.dtype())
    fail<DTypeError>("{}: expected two float32 or two float64 tensors, got {} and {}", op, dtype_name(a.dtype()),
                     dtype_name(b.dtype()));
}

Tensor mm_forward(const Tensor& a, const Tensor& b) {
  Tensor out = empty({a.shape()[0], b.shape()[1]}, a.dtype());
  core::dispatch_float(a.dtype(), "mm", [&]<class T>() {
    gemm_2d<T>(a, b, out.data<T>(), std::max<int64_t>(b.shape()[1], 1), static_cast<const T*>(a.raw_data()),
               static_cast<const T*>(b.raw_data()));
  });
  return out;
}

/// mm: ā = g·bᵀ, b̄ = aᵀ·g; each side is saved only when the other needs a gradient.
const OpDef<NoAttrs, 2> kMm{
    .name = "mm",
    .saves = {.inputs = 0b11, .for_others = true},
    .backward = [](const Ctx<NoAttrs, 2>& c) -> Grads {
      return {c.needs(0) ? mm(c.grad(), c.input(1).t()) : Tensor(),
              c.needs(1) ? mm(c.input(0).t(), c.grad()) : Tensor()};
    },
};
const OpDef<NoAttrs, 2> kBmm{
    .name = "bmm",
    .saves = {.inputs = 0b11, .for_others = true},
    .backward = [](const Ctx<NoAttrs, 2>& c) -> Grads {
      return {c.needs(0) ? bmm(c.grad(), c.input(1).transpose(1, 2)) : Tensor(),
              c.needs(1) ? bmm(c.input(0).transpose(1, 2), c.grad()) : Tensor()};
    },
};
/// linear(x, w, b) = x·wᵀ + b over x's last dim (attribute: in_features).
const OpDef<int64_t, 3> kLinear{
    .name = "linear",
    .saves = {.inputs = 0b011, .for_others = true},
    .backward = [](const Ctx<int64_t, 3>& c) -> Grads {
      const int64_t in = c.attrs();
      const Tensor g2 = reshape(c.grad(), {-1, c.grad().shape().back()});
      Grads r(3);
      if (c.needs(0)) {
        Shape xs(c.grad().shape().begin(), c.grad().shape().end() - 1);
        xs.push_back(in);
        r[0] = reshape(mm(g2, c.input(1)), xs);
      }
      if (c.needs(1)) r[1] = mm(g2.t(), reshape(c.input(0), {-1, in}));
      if (c.needs(2)) r[2] = sum(g2, {0});
      return r;
    },
};

}  // namespace

Tensor mm(const Tensor& a, const Tensor& b) {
  check_float_pair(a, b, "mm");
  if (a.dim() != 2 || b.dim() != 2 || a.shape()[1] != b.shape()[0])
    fail<ShapeError>("mm: cannot multiply shapes {} and {} (expected [n,k] and [k,m])", shape_str(a.shape()),
                     shape_str(b.shape()));
  Tensor out = mm_forward(a, b);
  return kMm.record(std::move(out), {&a, &b});
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  check_float_pair(a, b, "bmm");
  if (a.dim() != 3 || b.dim() != 3 || a.shape()[0] != b.shape()[0] || a.shape()[2] != b.shape()[1])
    fail<ShapeError>("bmm: cannot multiply shapes {} and {} (expected [b,n,k] and [b,k,m])", shape_str(a.shape()),
                     shape_str(b.shape()));
  const int64_t B = a.shape()[0], N = a.shape()[1], M = b.shape()[2], K = a.shape()[2];
  Tensor out = empty({B, N, M}, a.dtype());
  core::dispatch_float(a.dtype(), "bmm", [&]<class T>() {
    T* o = out.data<T>();
    const T* pa = static_cast<const T*>(a.raw_data());
    const T* pb = static_cast<const T*>(b.raw_data());
    // Small matrices: one GEMM per thread over the batch; large ones: GEMM's own threads.
    const int64_t grain = std::max<int64_t>(1, 200000 / std::max<int64_t>(1, N * M * K));
    kernels::parallel_for(0, B, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        const Tensor ai = a.detach().select(0, i), bi = b.detach().select(0, i);
        gemm_2d<T>(ai, bi, o + i * N * M, std::max<int64_t>(M, 1), pa + i * a.strides()[0], pb + i * b.strides()[0]);
      }
    });
  });
  return kBmm.record(std::move(out), {&a, &b});
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_float_pair(a, b, "matmul");
  const int64_t da = a.dim(), db = b.dim();
  if (da == 0 || db == 0)
    fail<ShapeError>("matmul: both arguments need at least 1 dim, got shapes {} and {}", shape_str(a.shape()),
                     shape_str(b.shape()));
  auto mismatch = [&] {
    fail<ShapeError>("matmul: shapes {} and {} cannot be multiplied (inner dims {} and {})", shape_str(a.shape()),
                     shape_str(b.shape()), a.shape().back(),
                     db == 1 ? b.shape()[0] : b.shape()[static_cast<size_t>(db - 2)]);
  };
  if (a.shape().back() != (db == 1 ? b.shape()[0] : b.shape()[static_cast<size_t>(db - 2)])) mismatch();
  if (da == 1 && db == 1) return reshape(mm(unsqueeze(a, 0), unsqueeze(b, 1)), {});
  if (da == 2 && db == 2) return mm(a, b);
  if (da == 1) return squeeze(matmul(unsqueeze(a, 0), b), -2);
  if (db == 1) return squeeze(matmul(a, unsqueeze(b, 1)), -1);
  if (db == 2) {
    // Fold a's batch dims into rows: one GEMM.
    Shape out_shape(a.shape().begin(), a.shape().end() - 1);
    out_shape.push_back(b.shape()[1]);
    return reshape(mm(reshape(a, {-1, a.shape().back()}), b), out_shape);
  }
  const Shape ba(a.shape().begin(), a.shape().end() - 2), bb(b.shape().begin(), b.shape().end() - 2);
  const Shape batch = broadcast_shapes(ba, bb, "matmul");
  const int64_t n = a.shape()[static_cast<size_t>(da - 2)], k = a.shape().back(), m = b.shape().back();
  Shape ea = batch, eb = batch, out_shape = batch;
  ea.insert(ea.end(), {n, k});
  eb.insert(eb.end(), {k, m});
  out_shape.insert(out_shape.end(), {n, m});
  const int64_t nb = shape_numel(batch);
  return reshape(bmm(reshape(expand(a, ea), {nb, n, k}), reshape(expand(b, eb), {nb, k, m})), out_shape);
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias) {
  check_float_pair(x, w, "linear");
  if (w.dim() != 2 || x.dim() < 1 || x.shape().back() != w.shape()[1])
    fail<ShapeError>("linear: input of shape {} does not match weight of shape {} (expected [..., {}])",
                     shape_str(x.shape()), shape_str(w.shape()), w.dim() == 2 ? w.shape()[1] : -1);
  const int64_t in = w.shape()[1], outf = w.shape()[0];
  if (bias.defined() && (bias.dim() != 1 || bias.shape()[0] != outf || bias.dtype() != w.dtype()))
    fail<ShapeError>("linear: bias of shape {} ({}) does not match weight of shape {}", shape_str(bias.shape()),
                     dtype_name(bias.dtype()), shape_str(w.shape()));
  const Tensor x2 = x.detach().reshape({-1, in});
  const int64_t rows = x2.shape()[0];
  Shape out_shape(x.shape().begin(), x.shape().end() - 1);
  out_shape.push_back(outf);
  Tensor out = empty(out_shape, x.dtype());
  core::dispatch_float(x.dtype(), "linear", [&]<class T>() {
    T* o = out.data<T>();
    T beta = T(0);
    if (bias.defined()) {
      // Start C from the bias rows so the GEMM adds into it: the bias costs no extra pass.
      const Tensor bc = bias.detach().contiguous();
      const T* pb = bc.data<T>();
      for (int64_t r = 0; r < rows; ++r) std::copy(pb, pb + outf, o + r * outf);
      beta = T(1);
    }
    const Tensor wt = w.detach().t();
    gemm_2d<T>(x2, wt, o, std::max<int64_t>(outf, 1), static_cast<const T*>(x2.raw_data()),
               static_cast<const T*>(wt.raw_data()), beta);
  });
  return kLinear.record(std::move(out), {&x, &w, &bias}, in);
}

namespace {
using TT = Tensor (*)(const Tensor&, const Tensor&);
const RegisterOp reg_mm{shaped(expose(kMm, static_cast<TT>(mm), {"input", "mat2"}), {{3, 4}, {4, 5}})};
}  // namespace

}  // namespace xg
