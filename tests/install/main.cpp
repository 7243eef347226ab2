// A user program: includes only the umbrella header and trains one step.
#include <xgrad/xgrad.h>

int main() {
  xg::Tensor w = xg::ones({2, 2}).requires_grad_();
  xg::Tensor loss = xg::matmul(w, w).sum();
  loss.backward();
  // d/dw sum(w·w) = 1·wᵀ + wᵀ·1 = 4 everywhere for w = ones
  return w.grad().at({0, 1}) == 4.0 ? 0 : 1;
}
