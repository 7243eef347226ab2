#include <gtest/gtest.h>

#include "xgrad/xgrad.h"

using namespace xg;

namespace {
struct Tiny : nn::Module {
  std::shared_ptr<nn::Sequential> body;
  std::shared_ptr<nn::Linear> head;
  Tiny() {
    body = register_module("body", nn::sequential({nn::Linear(4, 8), nn::ReLU(), nn::BatchNorm1d(8)}));
    head = register_module("head", std::make_shared<nn::Linear>(8, 3));
    register_module("unused", std::make_shared<nn::Tanh>());
    for (Tensor& p : head->parameters()) p.requires_grad_(false);
  }
  Tensor forward(const Tensor& x) override { return (*head)((*body)(x)); }
};
}  // namespace

TEST(NnSummary, ExactTable) {
  auto model = std::make_shared<Tiny>();
  auto bn = model->body->at<nn::BatchNorm1d>(2);
  const Tensor rm = bn->running_mean().clone();
  const std::string s = nn::summary(*model, {2, 4});
  EXPECT_EQ(s,
            "Model: Tiny\n"
            "_________________________________________________________________\n"
            "Layer (type)                  Output Shape             Param #\n"
            "=================================================================\n"
            "body (Sequential)             [2, 8]                   0\n"
            "body.0 (Linear)               [2, 8]                   40\n"
            "body.1 (ReLU)                 [2, 8]                   0\n"
            "body.2 (BatchNorm1d)          [2, 8]                   16\n"
            "head (Linear)                 [2, 3]                   27\n"
            "unused (Tanh)                 -                        0\n"
            "=================================================================\n"
            "Total params: 83\n"
            "Trainable params: 56\n"
            "Non-trainable params: 27\n"
            "_________________________________________________________________\n");
  // The dummy forward ran in eval mode: statistics untouched, modes and hooks restored.
  EXPECT_TRUE(equal(bn->running_mean(), rm));
  EXPECT_EQ(bn->num_batches_tracked().item(), 0.0);
  for (const auto& m : model->modules()) EXPECT_TRUE(m->is_training());
  model->body->eval();
  nn::summary(*model, {2, 4});
  EXPECT_TRUE(model->is_training());
  EXPECT_FALSE(model->body->at<nn::Linear>(0)->is_training());
  int calls = 0;
  auto h = model->head->register_forward_hook([&](nn::Module&, const Tensor&, const Tensor&) { ++calls; });
  nn::summary(*model, {1, 4});
  EXPECT_EQ(calls, 1);  // user hooks still run, and the summary's own hooks are gone afterwards
  (*model)(zeros({2, 4}));
  EXPECT_EQ(calls, 2);
  h.remove();
}

TEST(NnSummary, WideColumnsThousandsSeparatorsAndErrors) {
  nn::Sequential model({nn::Flatten(), nn::Linear(1000, 1000)});
  const std::string s = nn::summary(model, {1, 10, 100});
  EXPECT_NE(s.find("1 (Linear)                    [1, 1000]                1,001,000\n"), std::string::npos) << s;
  EXPECT_NE(s.find("0 (Flatten)                   [1, 1000]                0\n"), std::string::npos) << s;
  EXPECT_NE(s.find("Total params: 1,001,000\n"), std::string::npos);
  EXPECT_NE(s.find("Non-trainable params: 0\n"), std::string::npos);
  // A bad input shape is the layer's error; the model is left as it was.
  EXPECT_THROW(nn::summary(model, {1, 7}), ShapeError);
  EXPECT_TRUE(model.is_training());
  EXPECT_EQ(nn::summary(model, {1, 1000}).find("Model: Sequential\n"), 0u);
}
