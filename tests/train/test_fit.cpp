#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <sstream>

#include "train_test_util.h"
#include "xgrad/autograd.h"
#include "xgrad/data.h"
#include "xgrad/error.h"
#include "xgrad/ops/elementwise.h"
#include "xgrad/optim.h"
#include "xgrad/train.h"

using namespace xg;
using xg::train::testing::make_blobs;
using xg::train::testing::make_mlp;

namespace {

train::Model compiled_model(const std::shared_ptr<nn::Module>& net,
                            train::LossArg loss = "sparse_categorical_crossentropy", double lr = 0.05) {
  train::Model m(net);
  m.compile(std::make_shared<optim::Adam>(net->parameters(), optim::AdamOptions{.lr = lr}), std::move(loss),
            {"accuracy"});
  return m;
}

}  // namespace

TEST(TrainFit, LearnsBlobsWithValidationSplit) {
  auto [x, y] = make_blobs(240);
  auto net = make_mlp();
  auto model = compiled_model(net);
  auto h = model.fit(x, y, {.epochs = 5, .batch_size = 16, .validation_split = 0.25, .verbose = 0});
  EXPECT_EQ(h.keys(), (std::vector<std::string>{"loss", "accuracy", "val_loss", "val_accuracy", "lr"}));
  ASSERT_EQ(h.size(), 5u);
  EXPECT_EQ(h.epochs(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  for (const auto& k : h.keys()) EXPECT_EQ(h[k].size(), 5u) << k;
  for (double lr : h["lr"]) EXPECT_DOUBLE_EQ(lr, 0.05);
  EXPECT_LT(h["loss"].back(), h["loss"].front());
  EXPECT_GE(h["val_accuracy"].back(), 0.9);
  EXPECT_FALSE(h.interrupted());
  // The validation split is the last quarter, in order: evaluating it reproduces the last epoch.
  auto val = model.evaluate(x.narrow(0, 180, 60), y.narrow(0, 180, 60), {.batch_size = 16});
  EXPECT_NEAR(val["loss"], h["val_loss"].back(), 1e-6);
  EXPECT_DOUBLE_EQ(val["accuracy"], h["val_accuracy"].back());
  EXPECT_THROW(h["nope"], ValueError);
}

TEST(TrainFit, ValidationDataFromTensorsDatasetAndLoader) {
  auto [x, y] = make_blobs(150, 2);
  auto [xv, yv] = make_blobs(60, 3);
  auto net = make_mlp();
  auto model = compiled_model(net);
  auto h = model.fit(x, y, {.epochs = 2, .batch_size = 32, .validation_data = {xv, yv}, .verbose = 0});
  auto ev = model.evaluate(xv, yv, {.batch_size = 32});
  EXPECT_NEAR(h["val_loss"].back(), ev["loss"], 1e-6);
  EXPECT_DOUBLE_EQ(h["val_accuracy"].back(), ev["accuracy"]);

  auto train_ds = std::make_shared<data::TensorDataset>(x, y);
  auto val_ds = std::make_shared<data::TensorDataset>(xv, yv);
  auto h2 = model.fit(train_ds, {.epochs = 1, .batch_size = 32, .validation_data = val_ds, .verbose = 0});
  EXPECT_TRUE(h2.contains("val_accuracy"));

  data::DataLoader loader(train_ds, {.batch_size = 50, .shuffle = true, .seed = 3});
  auto val_loader = std::make_shared<data::DataLoader>(val_ds, data::LoaderOptions{.batch_size = 20});
  auto h3 = model.fit(loader, {.epochs = 3, .validation_data = val_loader, .verbose = 0});
  EXPECT_EQ(h3.size(), 3u);
  EXPECT_NEAR(h3["val_loss"].back(), model.evaluate(*val_loader)["loss"], 1e-6);
  EXPECT_GE(h3["val_accuracy"].back(), 0.9);
}

TEST(TrainFit, InitialEpochResumesNumbering) {
  auto [x, y] = make_blobs(60);
  auto model = compiled_model(make_mlp());
  auto h = model.fit(x, y, {.epochs = 4, .verbose = 0, .initial_epoch = 2});
  EXPECT_EQ(h.epochs(), (std::vector<int64_t>{2, 3}));
}

TEST(TrainFit, BadArgumentsAreClearErrors) {
  auto [x, y] = make_blobs(60);
  auto net = make_mlp();
  train::Model raw(net);
  EXPECT_THROW(raw.fit(x, y), ValueError);  // not compiled
  EXPECT_THROW(raw.compile(std::make_shared<optim::SGD>(net->parameters()), "no_such_loss"), ValueError);
  EXPECT_THROW(raw.compile(std::make_shared<optim::SGD>(net->parameters()), "mse", {"no_such_metric"}), ValueError);
  auto model = compiled_model(net);
  EXPECT_THROW(model.fit(x, y.narrow(0, 0, 59), {.verbose = 0}), ShapeError);
  EXPECT_THROW(model.fit(x, y, {.validation_split = 0.2, .validation_data = {x, y}, .verbose = 0}), ValueError);
  EXPECT_THROW(model.fit(x, y, {.validation_split = 1.5, .verbose = 0}), ValueError);
  EXPECT_THROW(model.fit(x, y, {.batch_size = 0, .verbose = 0}), ValueError);
  data::DataLoader loader(std::make_shared<data::TensorDataset>(x, y));
  EXPECT_THROW(model.fit(loader, {.validation_split = 0.2, .verbose = 0}), ValueError);
  // A loss that is not a scalar.
  train::Model bad(net);
  bad.compile(std::make_shared<optim::SGD>(net->parameters()),
              train::LossArg([](const Tensor& p, const Tensor&) { return p; }, "identity"));
  EXPECT_THROW(bad.fit(x, y, {.verbose = 0}), ShapeError);
}

TEST(TrainFit, EvaluateAndPredictKeepModesAndRecordNoGraph) {
  auto [x, y] = make_blobs(90);
  auto net = make_mlp(/*dropout=*/true);
  auto model = compiled_model(net);
  net->train(true);
  (*net)[2]->eval();  // a submodule the user froze in eval mode stays so
  auto p1 = model.predict(x, 32);
  auto p2 = model.predict(x, 7);
  EXPECT_EQ(p1.shape(), (Shape{90, 3}));
  EXPECT_FALSE(p1.requires_grad());
  EXPECT_EQ(p1.grad_fn(), nullptr);
  EXPECT_EQ(p1.to_vector<float>(), p2.to_vector<float>());  // eval mode: dropout off, batching irrelevant
  EXPECT_TRUE(net->is_training());
  EXPECT_TRUE((*net)[0]->is_training());
  EXPECT_FALSE((*net)[2]->is_training());
  model.evaluate(x, y);
  EXPECT_TRUE(net->is_training());
  EXPECT_FALSE((*net)[2]->is_training());
  for (const auto& p : net->parameters()) EXPECT_FALSE(p.grad().defined());

  net->eval();
  model.fit(x, y, {.epochs = 1, .verbose = 0});
  EXPECT_FALSE(net->is_training());  // fit trains in training mode, then restores
  autograd::NoGradGuard outer;       // an enclosing no-grad scope survives predict
  model.predict(x);
  EXPECT_FALSE(autograd::grad_mode_enabled());
}

TEST(TrainFit, OtherLosses) {
  auto [x, y] = make_blobs(120);
  // One-hot targets with categorical cross-entropy.
  auto net = make_mlp();
  auto model = compiled_model(net, "categorical_crossentropy");
  auto h = model.fit(x, data::to_categorical(y, 3), {.epochs = 4, .batch_size = 16, .verbose = 0});
  EXPECT_GE(h["accuracy"].back(), 0.85);
  // Regression with [N] targets against a [N, 1] output (no [N, N] broadcasting).
  manual_seed(3);
  auto reg = std::make_shared<nn::Sequential>(nn::Linear(2, 1));
  train::Model r(reg);
  r.compile(std::make_shared<optim::SGD>(reg->parameters(), optim::SGDOptions{.lr = 0.1}), "mse");
  const Tensor target = (x.select(1, 0) * 2.0 - x.select(1, 1)).detach();
  auto hr = r.fit(x, target, {.epochs = 20, .batch_size = 20, .verbose = 0});
  EXPECT_LT(hr["loss"].back(), 1e-3);
  // A loss module and a binary problem with logits.
  auto bnet = std::make_shared<nn::Sequential>(nn::Linear(2, 1));
  train::Model b(bnet);
  b.compile(std::make_shared<optim::Adam>(bnet->parameters(), optim::AdamOptions{.lr = 0.1}),
            std::make_shared<nn::BCEWithLogitsLoss>(), {"accuracy"});
  const Tensor yb = eq(y, scalar(0.0, kInt64)).to(kFloat32).reshape({120, 1});
  auto hb = b.fit(x, yb, {.epochs = 10, .batch_size = 20, .verbose = 0});
  EXPECT_GE(hb["accuracy"].back(), 0.95);
}

TEST(TrainFit, TrainOnBatchLowersLoss) {
  auto [x, y] = make_blobs(60);
  auto model = compiled_model(make_mlp());
  const double first = model.train_on_batch(x, y)["loss"];
  double last = first;
  for (int i = 0; i < 20; ++i) last = model.train_on_batch(x, y)["loss"];
  EXPECT_LT(last, first * 0.5);
}

TEST(TrainMetrics, AccuracyForms) {
  const Tensor scores =
      from_vector(std::vector<float>{0.1f, 0.7f, 0.2f, 0.9f, 0.05f, 0.05f, 0.3f, 0.3f, 0.4f, 0.2f, 0.5f, 0.3f}, {4, 3});
  const Tensor labels = from_vector(std::vector<int64_t>{1, 0, 0, 2}, {4});
  train::SparseCategoricalAccuracy s;
  s.update(scores, labels);
  EXPECT_DOUBLE_EQ(s.result(), 0.5);
  s.update(scores.narrow(0, 0, 2), labels.narrow(0, 0, 2));  // accumulates: 4 of 6
  EXPECT_DOUBLE_EQ(s.result(), 4.0 / 6.0);
  s.reset();
  EXPECT_TRUE(std::isnan(s.result()));

  train::CategoricalAccuracy c;
  c.update(scores, data::to_categorical(labels, 3));
  EXPECT_DOUBLE_EQ(c.result(), 0.5);
  EXPECT_THROW(c.update(scores, labels), ShapeError);

  train::TopKAccuracy top2(2);
  EXPECT_EQ(top2.name(), "top_2_accuracy");
  top2.update(scores, labels);  // row 2: true class 0 ties 0.3 with class 1, beaten only by 0.4
  EXPECT_DOUBLE_EQ(top2.result(), 1.0);
  train::TopKAccuracy top1(1);
  top1.update(scores, labels);
  EXPECT_DOUBLE_EQ(top1.result(), 0.5);

  train::BinaryAccuracy b(0.5);
  b.update(from_vector(std::vector<float>{0.9f, 0.2f, 0.6f, 0.4f}, {4, 1}),
           from_vector(std::vector<float>{1.f, 0.f, 0.f, 0.f}, {4}));
  EXPECT_DOUBLE_EQ(b.result(), 0.75);

  train::Accuracy a;  // picks the sparse form from int64 [N] targets
  a.update(scores, labels);
  EXPECT_DOUBLE_EQ(a.result(), 0.5);

  EXPECT_EQ(train::make_metric("top_3_accuracy")->name(), "top_3_accuracy");
  EXPECT_THROW(train::make_metric("top_x_accuracy"), ValueError);
  EXPECT_THROW(s.update(scores, from_vector(std::vector<int64_t>{1, 0, 0, 3}, {4})), IndexError);
}
