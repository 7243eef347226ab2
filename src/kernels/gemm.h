#pragma once

#include <cstddef>
#include <cstdint>

namespace xg::kernels {

/// C = alpha * op(A) * op(B) + beta * C, all row-major. op(A) is m x k (A is k x m when trans_a),
/// op(B) is k x n (B is n x k when trans_b). lda/ldb/ldc are row strides in elements. beta == 0 means C is
/// overwritten (never read, so NaN garbage in C does not propagate). alpha == 0 or k == 0 means A and B are
/// never read. Results are bitwise identical whatever the OpenMP thread count: the k dimension is never split
/// across threads and every element of C is accumulated in the same order.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc);

/// Tests only: packing-buffer requests above `bytes` throw std::bad_alloc, as an exhausted allocator would,
/// from inside the GEMM's parallel region (SIZE_MAX, the default, never). Returns the previous limit.
std::size_t set_gemm_scratch_limit_for_testing(std::size_t bytes);

}  // namespace xg::kernels
