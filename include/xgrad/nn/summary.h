#pragma once
/// A Keras-style model summary: one row per submodule (pre-order, dotted names) with its type, the
/// output shape it produced for a dummy input, and its own parameter count; then the totals.
///
///   Model: Sequential
///   ____________________________________________________________________
///   Layer (type)                  Output Shape             Param #
///   ====================================================================
///   0 (Linear)                    [2, 8]                   40
///   1 (ReLU)                      [2, 8]                   0
///   2 (Linear)                    [2, 3]                   27
///   ====================================================================
///   Total params: 67
///   Trainable params: 67
///   Non-trainable params: 0
///   ____________________________________________________________________
///
/// Shapes come from forward hooks while model(zeros(input_shape, dtype)) runs under no-grad in eval
/// mode (so batch norm statistics do not change; training flags are restored afterwards). A module
/// that did not run through operator() shows "-". Param # counts parameters only (buffers such as
/// batch norm's running statistics are not parameters).
#include <string>
#include <vector>

#include "xgrad/nn/module.h"

namespace xg::nn {

/// input_shape includes the batch dim, e.g. {1, 1, 28, 28}; use dtype kInt64 for Embedding models.
std::string summary(Module& model, const Shape& input_shape, DType dtype = kFloat32);
/// The summary of a model run on example inputs, one per tensor argument of its forward (through
/// Module::call; a model of several inputs is a ModuleWith): summary(*net, {tokens, mask}). A
/// module with several outputs shows each shape: ([2, 5, 8], [2, 5, 5]).
std::string summary(Module& model, const std::vector<Tensor>& inputs);
/// Prints summary(...) to stdout.
void print_summary(Module& model, const Shape& input_shape, DType dtype = kFloat32);
void print_summary(Module& model, const std::vector<Tensor>& inputs);

}  // namespace xg::nn
