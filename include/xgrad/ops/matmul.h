#pragma once
/// Matrix products over the packed xsimd GEMM (src/ops/matmul.cpp). Transposed or strided operands
/// are handled by the GEMM's packing, never by copying a transpose.
#include "xgrad/tensor.h"

namespace xg {

/// [n,k] · [k,m] → [n,m]
Tensor mm(const Tensor& a, const Tensor& b);
/// [b,n,k] · [b,k,m] → [b,n,m]
Tensor bmm(const Tensor& a, const Tensor& b);
/// torch.matmul: dot, mm, vector-matrix and batched products with broadcast batch dims.
Tensor matmul(const Tensor& a, const Tensor& b);
/// x · Wᵀ + b for x [..., in], W [out, in], optional b [out]. One node, fused bias.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace xg
