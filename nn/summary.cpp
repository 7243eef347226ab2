/// Keras-style model summaries through forward hooks.
#include "xgrad/nn/summary.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "xgrad/autograd.h"

namespace xg::nn {

namespace {

std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

/// Removes the hooks and restores training flags however the dummy forward ends.
struct Restore {
  std::vector<HookHandle> handles;
  std::vector<std::pair<std::shared_ptr<Module>, bool>> modes;  ///< pre-order, so parents come first
  ~Restore() {
    for (auto& h : handles) h.remove();
    for (auto& [m, on] : modes) m->train(on);
  }
};

}  // namespace

std::string summary(Module& model, const Shape& input_shape, DType dtype) {
  return summary(model, std::vector<Tensor>{zeros(input_shape, dtype)});
}

std::string summary(Module& model, const std::vector<Tensor>& inputs) {
  const auto mods = model.named_modules();
  std::map<const Module*, std::string> shapes;
  {
    Restore restore;
    for (const auto& [n, m] : mods) {
      restore.modes.emplace_back(m, m->is_training());
      restore.handles.push_back(m->register_forward_hook([&shapes](Module& mod, Tensors, Tensors outs) {
        // One output: its shape; several: each, in parentheses (an absent one as None).
        std::string s;
        for (const Tensor& t : outs) s += (s.empty() ? "" : ", ") + (t.defined() ? shape_str(t.shape()) : "None");
        if (outs.size() > 1) s = "(" + s + ")";
        if (!outs.empty()) shapes[&mod] = s;
      }));
    }
    model.eval();
    NoGradGuard ng;
    if (inputs.size() == 1)
      model(inputs[0]);
    else
      model.call(inputs);
  }

  struct Row {
    std::string layer, shape, params;
  };
  std::vector<Row> rows;
  for (const auto& [n, m] : mods) {
    if (m.get() == &model) continue;
    int64_t own = 0;
    for (const Tensor& p : m->parameters(false)) own += p.numel();
    auto it = shapes.find(m.get());
    rows.push_back({n + " (" + m->name() + ")", it == shapes.end() ? "-" : it->second, with_commas(own)});
  }
  size_t w1 = 30, w2 = 25, w3 = 10;
  for (const Row& r : rows) {
    w1 = std::max(w1, r.layer.size() + 2);
    w2 = std::max(w2, r.shape.size() + 2);
    w3 = std::max(w3, r.params.size());
  }
  const size_t width = w1 + w2 + w3;
  int64_t total = 0, trainable = 0;
  for (const Tensor& p : model.parameters()) {
    total += p.numel();
    if (p.requires_grad()) trainable += p.numel();
  }
  std::string s = fmt::format("Model: {}\n", model.name());
  s += std::string(width, '_') + "\n";
  s += fmt::format("{:<{}}{:<{}}{}\n", "Layer (type)", w1, "Output Shape", w2, "Param #");
  s += std::string(width, '=') + "\n";
  for (const Row& r : rows) s += fmt::format("{:<{}}{:<{}}{}\n", r.layer, w1, r.shape, w2, r.params);
  s += std::string(width, '=') + "\n";
  s += fmt::format("Total params: {}\n", with_commas(total));
  s += fmt::format("Trainable params: {}\n", with_commas(trainable));
  s += fmt::format("Non-trainable params: {}\n", with_commas(total - trainable));
  s += std::string(width, '_') + "\n";
  return s;
}

void print_summary(Module& model, const Shape& input_shape, DType dtype) {
  fmt::print("{}", summary(model, input_shape, dtype));
  std::fflush(stdout);
}

void print_summary(Module& model, const std::vector<Tensor>& inputs) {
  fmt::print("{}", summary(model, inputs));
  std::fflush(stdout);
}

}  // namespace xg::nn
