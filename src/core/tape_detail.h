#pragma once
/// The tape's internals shared with the engine: node release, the node through which a leaf's gradient
/// leaves the tape, and the lock that guards every write of a grad() field. The node only names its
/// leaf: the engine (autograd layer, above ops) adds into grad().
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "xgrad/tape.h"

namespace xg::autograd {

/// Destroys a node without recursion (a long chain would overflow the stack): TensorImpl's destructor
/// and Node's hand their nodes to one loop.
void release_node(std::shared_ptr<Node>&& n);

/// Guards every write of a grad() field and the creation of leaves' accumulators, so that backward
/// passes running on several threads through shared leaves add up correctly.
std::recursive_mutex& grad_mutex();

/// The sink of a leaf's gradient.
class AccumulateGrad : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf);
  std::string name() const override { return "AccumulateGrad"; }
  /// Refuses: the engine accumulates (see accumulate_leaf in autograd/engine.cpp).
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override;
  std::shared_ptr<TensorImpl> leaf_;
};

}  // namespace xg::autograd
