#pragma once
/// Small synthetic data and models shared by the training tests.
#include <memory>
#include <vector>

#include "xgrad/nn.h"
#include "xgrad/optim.h"
#include "xgrad/random.h"
#include "xgrad/tensor.h"
#include "xgrad/train/model.h"

namespace xg::train::testing {

/// Three Gaussian blobs in 2-D (classes 0, 1, 2), n samples interleaved by class.
struct Blobs {
  Tensor x, y;
};
inline Blobs make_blobs(int64_t n, uint64_t seed = 1) {
  Generator g(seed);
  const double cx[3] = {-2.0, 2.0, 0.0}, cy[3] = {0.0, 0.0, 2.5};
  std::vector<float> xs;
  std::vector<int64_t> ys;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = i % 3;
    xs.push_back(static_cast<float>(cx[c] + 0.5 * g.next_normal()));
    xs.push_back(static_cast<float>(cy[c] + 0.5 * g.next_normal()));
    ys.push_back(c);
  }
  return {from_vector(xs, {n, 2}), from_vector(ys, {n})};
}

inline std::shared_ptr<nn::Sequential> make_mlp(bool dropout = false) {
  manual_seed(7);
  auto net = std::make_shared<nn::Sequential>();
  net->add(nn::Linear(2, 16));
  net->add(nn::ReLU());
  if (dropout) net->add(nn::Dropout(0.5));
  net->add(nn::Linear(16, 3));
  return net;
}

/// A model over net compiled for the blobs: SGD at lr, sparse categorical cross-entropy, accuracy.
inline Model sgd_model(const std::shared_ptr<nn::Sequential>& net, double lr = 0.1) {
  Model model(net);
  model.compile(std::make_shared<optim::SGD>(net->parameters(), optim::SGDOptions{.lr = lr}),
                "sparse_categorical_crossentropy", {"accuracy"});
  return model;
}

}  // namespace xg::train::testing
