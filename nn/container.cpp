/// Sequential, ModuleList and ModuleDict.
#include "xgrad/nn/container.h"

#include <typeinfo>

#include "xgrad/nn/activation.h"
#include "xgrad/nn/pooling.h"
#include "xgrad/ops/fused.h"

namespace xg::nn {

std::shared_ptr<Module> ModuleSequence::operator[](int64_t i) const {
  const auto n = static_cast<int64_t>(modules_.size());
  const int64_t j = i < 0 ? i + n : i;
  if (j < 0 || j >= n) fail<IndexError>("{}: index {} is out of range for {} modules", kind_, i, n);
  return modules_[static_cast<size_t>(j)];
}

void ModuleSequence::append(const std::string& name, const ModuleArg& m) {
  register_module(name, m.ptr());
  modules_.push_back(m.ptr());
}

Sequential::Sequential() : ModuleSequence("Sequential") {}

Sequential::Sequential(std::initializer_list<ModuleArg> modules) : Sequential() {
  for (const ModuleArg& m : modules) add(m);
}

Sequential::Sequential(std::initializer_list<std::pair<std::string, ModuleArg>> named) : Sequential() {
  for (const auto& [n, m] : named) add(n, m);
}

std::shared_ptr<Sequential> sequential(std::initializer_list<ModuleArg> modules) {
  return std::make_shared<Sequential>(modules);
}

std::shared_ptr<Sequential> sequential(std::initializer_list<std::pair<std::string, ModuleArg>> named) {
  return std::make_shared<Sequential>(named);
}

Sequential& Sequential::add(const ModuleArg& m) { return add(next_name(), m); }

Sequential& Sequential::add(const std::string& name, const ModuleArg& m) {
  append(name, m);
  return *this;
}

namespace {

/// Whether modules [i, i + 3) are a Conv2d, a ReLU and a MaxPool2d(2) (stride 2, no padding), all
/// of exactly those types and without hooks: conv2d_relu_maxpool2d gives their values and gradients
/// in one pass. Hooks (the ONNX exporter's and summary's among them) see each module, so with any
/// hook the modules run one by one.
using ModuleIt = std::vector<std::shared_ptr<Module>>::const_iterator;
const Conv2d* fusable_conv_relu_pool(ModuleIt it, ModuleIt end) {
  if (end - it < 3) return nullptr;
  const Module &a = **it, &b = **(it + 1), &c = **(it + 2);
  if (typeid(a) != typeid(Conv2d) || typeid(b) != typeid(ReLU) || typeid(c) != typeid(MaxPool2d)) return nullptr;
  if (a.has_hooks() || b.has_hooks() || c.has_hooks()) return nullptr;
  const auto& pool = static_cast<const MaxPool2d&>(c);
  if (pool.kernel_size() != Pair{2, 2} || pool.stride() != Pair{2, 2} || pool.padding() != Pair{0, 0}) return nullptr;
  return &static_cast<const Conv2d&>(a);
}

}  // namespace

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  for (auto it = begin(); it != end(); ++it) {
    if (const Conv2d* conv = fusable_conv_relu_pool(it, end())) {
      x = conv2d_relu_maxpool2d(x, conv->weight(), conv->bias(), conv->stride(), conv->padding(), conv->dilation(),
                                conv->groups());
      it += 2;
      continue;
    }
    x = (**it)(x);
  }
  return x;
}

ModuleList::ModuleList() : ModuleSequence("ModuleList") {}

ModuleList::ModuleList(std::initializer_list<ModuleArg> modules) : ModuleList() {
  for (const ModuleArg& m : modules) push_back(m);
}

ModuleList& ModuleList::push_back(const ModuleArg& m) {
  append(next_name(), m);
  return *this;
}

ModuleDict::ModuleDict() : Module("ModuleDict") {}

ModuleDict::ModuleDict(std::initializer_list<std::pair<std::string, ModuleArg>> named) : ModuleDict() {
  for (const auto& [n, m] : named) insert(n, m);
}

ModuleDict& ModuleDict::insert(const std::string& name, const ModuleArg& m) {
  register_module(name, m.ptr());
  modules_.insert(name, m.ptr());
  return *this;
}

std::shared_ptr<Module> ModuleDict::operator[](const std::string& name) const {
  if (const auto* m = modules_.find(name)) return *m;
  fail<IndexError>("ModuleDict: no module named '{}'", name);
}

}  // namespace xg::nn
