#pragma once
/// Raw 2-D pooling kernels over `nc` independent planes (the caller flattens
/// N*C of an NCHW tensor): in[nc, h, w] -> out[nc, oh, ow]. Contiguous inputs,
/// no allocation. Large workloads are split over planes with OpenMP; small ones
/// (and calls made from inside a parallel region) stay on the calling thread.
/// Semantics mirror PyTorch's CPU kernels with ceil_mode = false.

#include <cstdint>

namespace xg::kernels {

/// Output extent of one spatial dimension of a pooling window (floor mode).
constexpr int64_t pool_out_size(int64_t in, int64_t k, int64_t s, int64_t p) noexcept {
  return (in + 2 * p - k) / s + 1;
}

/// Max pooling. Padding acts as -inf. argmax[nc, oh, ow] receives the flat
/// index y*w + x of the winning element within its plane: the first maximum
/// wins on ties; a NaN in the window makes the output NaN (argmax = last NaN,
/// as in PyTorch). A window with no in-bounds element (only possible when the
/// padding exceeds half the kernel, which PyTorch rejects) yields -inf and
/// argmax -1, which the backward skips.
template <typename T>
void max_pool2d_forward(const T* in, int64_t nc, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                        int64_t ph, int64_t pw, int64_t oh, int64_t ow, T* out, int64_t* argmax);

/// grad_in[nc, h, w] = 0, then grad_in[argmax] += grad_out for every output
/// (outputs with argmax < 0 are skipped).
template <typename T>
void max_pool2d_backward(const T* grad_out, const int64_t* argmax, int64_t nc, int64_t h, int64_t w, int64_t oh,
                         int64_t ow, T* grad_in);

/// Average pooling. The divisor is the window clipped to the padded extent
/// [-p, n+p) when count_include_pad, else the number of in-bounds elements.
/// A window with no in-bounds element outputs 0.
template <typename T>
void avg_pool2d_forward(const T* in, int64_t nc, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                        int64_t ph, int64_t pw, int64_t oh, int64_t ow, bool count_include_pad, T* out);

/// grad_in[nc, h, w] = 0, then each grad_out / divisor is added to its window.
template <typename T>
void avg_pool2d_backward(const T* grad_out, int64_t nc, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh,
                         int64_t sw, int64_t ph, int64_t pw, int64_t oh, int64_t ow, bool count_include_pad,
                         T* grad_in);

/// Adaptive average pooling: output row i averages input rows
/// floor(i*h/oh) .. ceil((i+1)*h/oh)-1 (columns likewise). oh/ow may exceed h/w.
template <typename T>
void adaptive_avg_pool2d_forward(const T* in, int64_t nc, int64_t h, int64_t w, int64_t oh, int64_t ow, T* out);

/// grad_in[nc, h, w] = 0, then each grad_out / window size is added to its window.
template <typename T>
void adaptive_avg_pool2d_backward(const T* grad_out, int64_t nc, int64_t h, int64_t w, int64_t oh, int64_t ow,
                                  T* grad_in);

/// One plane of relu followed by 2x2 max pooling with stride 2 (floor mode): out[oh, ow] from
/// in[2·oh.., w] (w >= 2·ow), with max_pool2d_forward's tie and NaN rules applied to relu(in), so
/// out is the unfused chain's bits. code[oh, ow] says where the gradient goes: the winner's place in
/// its window (dy·2 + dx) when relu passes it (out > 0), else 4 (nowhere); code may be null (no
/// gradient to route). Single-threaded.
template <typename T>
void relu_max_pool2x2_plane(const T* in, int64_t w, int64_t oh, int64_t ow, T* out, uint8_t* code);

/// The adjoint of relu_max_pool2x2_plane for fixed codes: grad_in[h, w] = 0 except grad_in at each
/// window's code = 0 + grad_out (bit for bit what max_pool2d_backward then relu's backward give).
template <typename T>
void relu_max_pool2x2_unpool(const T* grad_out, const uint8_t* code, int64_t h, int64_t w, int64_t oh, int64_t ow,
                             T* grad_in);

/// Its adjoint again: out[oh, ow] = t at each window's code (0 where the code is 4).
template <typename T>
void relu_max_pool2x2_gather(const T* t, const uint8_t* code, int64_t w, int64_t oh, int64_t ow, T* out);

#define XG_POOL_EXTERN(T)                                                                                              \
  extern template void max_pool2d_forward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,  \
                                             int64_t, int64_t, int64_t, int64_t, T*, int64_t*);                        \
  extern template void max_pool2d_backward<T>(const T*, const int64_t*, int64_t, int64_t, int64_t, int64_t, int64_t,   \
                                              T*);                                                                     \
  extern template void avg_pool2d_forward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,  \
                                             int64_t, int64_t, int64_t, int64_t, bool, T*);                            \
  extern template void avg_pool2d_backward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, \
                                              int64_t, int64_t, int64_t, int64_t, bool, T*);                           \
  extern template void adaptive_avg_pool2d_forward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, T*);      \
  extern template void adaptive_avg_pool2d_backward<T>(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, T*);     \
  extern template void relu_max_pool2x2_plane<T>(const T*, int64_t, int64_t, int64_t, T*, uint8_t*);                   \
  extern template void relu_max_pool2x2_unpool<T>(const T*, const uint8_t*, int64_t, int64_t, int64_t, int64_t, T*);   \
  extern template void relu_max_pool2x2_gather<T>(const T*, const uint8_t*, int64_t, int64_t, int64_t, T*);
XG_POOL_EXTERN(float)
XG_POOL_EXTERN(double)
#undef XG_POOL_EXTERN

}  // namespace xg::kernels
