/// The op registry: filled at load time by the op files' RegisterOp objects.
#include "xgrad/ops/registry.h"

#include "xgrad/error.h"

namespace xg::ops {

namespace {
std::vector<OpInfo>& ops() {
  static std::vector<OpInfo> v;
  return v;
}
}  // namespace

const std::vector<OpInfo>& registered_ops() { return ops(); }

const OpInfo* find_op(std::string_view name) {
  for (const OpInfo& op : ops())
    if (op.name == name) return &op;
  return nullptr;
}

RegisterOp::RegisterOp(OpInfo info) {
  if (find_op(info.name)) fail<ValueError>("op registry: '{}' is registered twice", info.name);
  ops().push_back(std::move(info));
}

}  // namespace xg::ops
