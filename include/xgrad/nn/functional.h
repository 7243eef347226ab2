#pragma once
/// xg::nn::functional, PyTorch's torch.nn.functional: the ops in namespace xg are the functional
/// forms of the layers, re-exported here so that `namespace F = xg::nn::functional;` reads as in
/// PyTorch. Functions whose defaults differ from a layer's (dropout trains by default) live here.
#include "xgrad/ops/activation.h"
#include "xgrad/ops/conv.h"
#include "xgrad/ops/embedding.h"
#include "xgrad/ops/indexing.h"
#include "xgrad/ops/loss.h"
#include "xgrad/ops/maths.h"
#include "xgrad/ops/matmul.h"
#include "xgrad/ops/norm.h"
#include "xgrad/ops/pad.h"
#include "xgrad/ops/pool.h"
#include "xgrad/ops/softmax.h"
#include "xgrad/random.h"
#include "xgrad/tensor.h"

namespace xg::nn::functional {

/// Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1-p), so
/// eval needs no rescaling. Identity when !training or p == 0. Differentiable in input.
Tensor dropout(const Tensor& input, double p = 0.5, bool training = true, Generator* gen = nullptr);
/// Channel dropout over [N, C, H, W] (or [C, H, W]): whole channels zeroed with probability p, the
/// rest scaled by 1/(1-p).
Tensor dropout2d(const Tensor& input, double p = 0.5, bool training = true, Generator* gen = nullptr);
/// PyTorch's alpha_dropout (for SELU networks): dropped elements become SELU's saturation value
/// -1.7581, then an affine map keeps the mean and variance.
Tensor alpha_dropout(const Tensor& input, double p = 0.5, bool training = true, Generator* gen = nullptr);

/// L1 (Σ|w|) and L2 (Σw², no 1/2, as Keras's regularizers) penalties of a set of tensors times factor,
/// as a differentiable 0-d tensor (0 for an empty set). Add it to the loss: Keras's kernel_regularizer.
Tensor l1_penalty(const std::vector<Tensor>& params, double factor);
Tensor l2_penalty(const std::vector<Tensor>& params, double factor);

using xg::celu;
using xg::elu;
using xg::gelu;
using xg::hardsigmoid;
using xg::hardswish;
using xg::hardtanh;
using xg::leaky_relu;
using xg::linear;
using xg::log_sigmoid;
using xg::log_softmax;
using xg::mish;
using xg::prelu;
using xg::relu;
using xg::selu;
using xg::sigmoid;
using xg::silu;
using xg::softmax;
using xg::softplus;
using xg::softsign;
using xg::tanh;

using xg::conv2d;
using xg::conv_transpose2d;
using xg::fold;
using xg::unfold;

using xg::adaptive_avg_pool1d;
using xg::adaptive_avg_pool2d;
using xg::adaptive_max_pool1d;
using xg::adaptive_max_pool2d;
using xg::adaptive_max_pool2d_with_indices;
using xg::avg_pool1d;
using xg::avg_pool2d;
using xg::max_pool1d;
using xg::max_pool2d;

using xg::interpolate;
using xg::pad;
using xg::pixel_shuffle;
using xg::pixel_unshuffle;

using xg::batch_norm;
using xg::group_norm;
using xg::instance_norm;
using xg::layer_norm;

using xg::embedding;
using xg::embedding_bag;
using xg::one_hot;

using xg::binary_cross_entropy;
using xg::binary_cross_entropy_with_logits;
using xg::cosine_embedding_loss;
using xg::cross_entropy;
using xg::ctc_loss;
using xg::gaussian_nll_loss;
using xg::huber_loss;
using xg::kl_div;
using xg::l1_loss;
using xg::margin_ranking_loss;
using xg::mse_loss;
using xg::multilabel_soft_margin_loss;
using xg::nll_loss;
using xg::poisson_nll_loss;
using xg::smooth_l1_loss;
using xg::triplet_margin_loss;

}  // namespace xg::nn::functional

namespace xg::nn {
using functional::l1_penalty;
using functional::l2_penalty;
}  // namespace xg::nn
