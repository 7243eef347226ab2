/// Sequential, ModuleList and ModuleDict.
#include "xgrad/nn/container.h"

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

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  for (const auto& m : *this) x = (*m)(x);
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
