#pragma once
/// ONNX export: runs a model once in eval mode on example inputs, records the ops it executes from
/// the tape, and writes them as an ONNX model (weights as initializers under the module's dotted
/// names) that ONNX Runtime and other runtimes load. ONNX's own C++ library builds, checks and
/// shape-infers the model; no ONNX type appears here. See docs/onnx.md for the op table and limits.
///
///   model->eval();
///   xg::onnx::export_model(*model, {xg::randn({1, 1, 28, 28})}, "mnist.onnx", {.dynamic_batch = true});
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "xgrad/nn/module.h"
#include "xgrad/tensor.h"

namespace xg::onnx {

struct ExportOptions {
  /// ONNX opset of the default domain: 13 to 17.
  int64_t opset = 17;
  /// Graph input and output names; empty: "input" ("input0", "input1", ... for several) and "output".
  std::vector<std::string> input_names = {};
  std::vector<std::string> output_names = {};
  /// Dim 0 of every input and output becomes the symbolic "batch" (the model must treat dim 0 as
  /// the batch: reshapes keep it, nothing mixes samples).
  bool dynamic_batch = false;
  /// Runs the model a second time on other values of the same shapes and refuses to export when the
  /// recorded graph or a constant differs (control flow or values that depend on the input).
  bool check_repeatable = true;
  /// Written into the model's graph name.
  std::string model_name = "xgrad_model";
};

/// What was written.
struct ExportInfo {
  std::string path;
  /// The ONNX op of each node, in graph order.
  std::vector<std::string> node_ops = {};
  /// Initializer names: parameters and buffers by their dotted names, then constants.
  std::vector<std::string> initializers = {};
};

/// The forward to record, for models whose forward takes or returns several tensors.
using Forward = std::function<std::vector<Tensor>(const std::vector<Tensor>& inputs)>;

/// Exports module(example_inputs[0]) (a single-input module). Puts the module in eval mode for the
/// trace and restores its mode after. Throws xg::Error (nothing written) when an op has no ONNX form,
/// naming the op and the module path where it ran, when the example inputs do not fit the model, or
/// when a second run records a different graph.
ExportInfo export_model(nn::Module& module, const std::vector<Tensor>& example_inputs, const std::string& path,
                        const ExportOptions& options = {});
/// Exports forward(inputs): the module gives parameter and buffer names and the eval mode.
ExportInfo export_model(nn::Module& module, const Forward& forward, const std::vector<Tensor>& example_inputs,
                        const std::string& path, const ExportOptions& options = {});

}  // namespace xg::onnx
