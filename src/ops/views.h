#pragma once
/// Views and in-place ops share history, as in PyTorch: a view remembers its base, and an in-place
/// op on a view rewrites the base's history with a CopySlices node, so gradients reach everything
/// the base came from. Used by the view ops (mark_view) and every in-place op (the other two).
#include "xgrad/tape.h"

namespace xg::autograd {

/// Records that `view` shows the memory of `of` (or of its base), taken in the current grad mode.
void mark_view(const Tensor& view, const Tensor& of);

/// Refuses an in-place write by `op` into `t` that PyTorch refuses while grad mode is on: a leaf
/// that requires grad, a view of one, or a view taken in no-grad mode whose base requires grad.
void check_inplace(const Tensor& t, const char* op);

/// After `t`'s memory was overwritten with `value` (the op computed out of place from t's old
/// history), gives t the history of value: for a view, its base gets a CopySlices node and the
/// view a fresh grad_fn taken from the base.
void rebase_history(const Tensor& t, const Tensor& value);

}  // namespace xg::autograd
