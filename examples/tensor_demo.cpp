/// A tour of the tensor API: views, broadcasting, autograd, and a tiny regression fitted by hand.
#include <cstdio>

#include "xgrad/xgrad.h"

int main() {
  using namespace xg;
  manual_seed(0);

  Tensor a = arange(0.0, 6.0).reshape({2, 3});
  fmt::print("a = {}\n", a);
  fmt::print("a.t() shares storage with a: {}\n", a.t());
  fmt::print("a + [10, 20, 30] (broadcast) = {}\n", a + tensor({10.f, 20.f, 30.f}));
  fmt::print("softmax(a, 1) = {}\n", softmax(a, 1));

  // Fit y = 3x - 1 with plain gradient descent.
  Tensor x = randn({64, 1});
  Tensor y = x * 3.0 - 1.0;
  Tensor w = zeros({1, 1}).requires_grad_();
  Tensor b = zeros({1}).requires_grad_();
  for (int step = 0; step < 200; ++step) {
    Tensor loss = ((linear(x, w, b) - y) * (linear(x, w, b) - y)).mean();
    loss.backward();
    NoGradGuard no_grad;
    w.sub_(w.grad() * 0.1);
    b.sub_(b.grad() * 0.1);
    w.zero_grad();
    b.zero_grad();
    if (step % 50 == 0) fmt::print("step {:3d}  loss {:.6f}\n", step, loss.item());
  }
  fmt::print("learned w = {:.4f} (want 3), b = {:.4f} (want -1)\n", w.item(), b.item());
  const auto stats = memory_stats();
  fmt::print("allocator: peak {} bytes, {} OS allocations\n", stats.peak_bytes, stats.os_allocations);
  fmt::print("result: w={:.4f} b={:.4f}\n", w.item(), b.item());
  return 0;
}
