#pragma once
/// Weight initialisers (torch.nn.init). Each fills its tensor in place under no-grad (so it works
/// on parameters that require grad), returns the same handle, and draws from gen, or from the
/// global generator (xg::manual_seed) when gen is null.
///
/// Default initialisations of the layers, as PyTorch's:
///   Linear, Conv2d, ConvTranspose2d  weight kaiming_uniform_(a=√5), i.e. U(±1/√fan_in);
///                                    bias U(±1/√fan_in) with the weight's fan_in
///   Embedding                        N(0, 1), the padding_idx row zeroed
///   BatchNorm, LayerNorm             weight 1, bias 0 (running mean 0, running var 1)
///   RNN, LSTM, GRU and their cells   every weight and bias U(±1/√hidden_size)
#include <string>
#include <utility>

#include "xgrad/random.h"
#include "xgrad/tensor.h"

namespace xg::nn::init {

/// The recommended gain for a nonlinearity: linear, conv1d/2d/3d, conv_transpose*, sigmoid → 1;
/// tanh → 5/3; relu → √2; leaky_relu → √(2/(1+slope²)) (slope defaults to 0.01); selu → 3/4.
double calculate_gain(const std::string& nonlinearity, double param = -1);
/// (fan_in, fan_out) of a weight of ≥ 2 dims: size(1)·receptive field and size(0)·receptive field.
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t);

Tensor uniform_(Tensor t, double a = 0.0, double b = 1.0, Generator* gen = nullptr);
Tensor normal_(Tensor t, double mean = 0.0, double std = 1.0, Generator* gen = nullptr);
Tensor constant_(Tensor t, double value);
Tensor zeros_(Tensor t);
Tensor ones_(Tensor t);
/// U(±gain·√(6/(fan_in+fan_out))).
Tensor xavier_uniform_(Tensor t, double gain = 1.0, Generator* gen = nullptr);
/// N(0, gain·√(2/(fan_in+fan_out))).
Tensor xavier_normal_(Tensor t, double gain = 1.0, Generator* gen = nullptr);
/// U(±gain·√(3/fan)), gain = calculate_gain(nonlinearity, a), fan by mode ("fan_in" or "fan_out").
Tensor kaiming_uniform_(Tensor t, double a = 0.0, const std::string& mode = "fan_in",
                        const std::string& nonlinearity = "leaky_relu", Generator* gen = nullptr);
/// N(0, gain/√fan).
Tensor kaiming_normal_(Tensor t, double a = 0.0, const std::string& mode = "fan_in",
                       const std::string& nonlinearity = "leaky_relu", Generator* gen = nullptr);
/// A (semi-)orthogonal matrix times gain, over t viewed as [size(0), numel/size(0)]: the QR of a
/// Gaussian matrix with R's diagonal made positive, as PyTorch.
Tensor orthogonal_(Tensor t, double gain = 1.0, Generator* gen = nullptr);

}  // namespace xg::nn::init
