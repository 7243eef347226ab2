// The MNIST MLP of mnist_mlp trained with a hand-written, PyTorch-style loop instead of fit:
// zero_grad, forward, loss, backward, step for each batch; a cosine learning-rate schedule stepped
// each epoch; evaluation in eval mode under NoGradGuard. Under mpirun it trains data-parallel:
// DistributedDataParallel averages gradients, a DistributedSampler gives each process its share.
//
//   custom_loop --epochs 5 --lr 0.001
//   mpirun -np 2 custom_loop --threads 1 --batch-size 16
#include <memory>

#include "example_util.h"
#include "xgrad/autograd.h"
#include "xgrad/dist/ddp.h"
#include "xgrad/dist/dist.h"
#include "xgrad/dist/sampler.h"
#include "xgrad/nn.h"
#include "xgrad/ops/elementwise.h"
#include "xgrad/ops/loss.h"
#include "xgrad/ops/reduction.h"
#include "xgrad/optim.h"

using namespace xg;

namespace {

struct Eval {
  double loss = 0, accuracy = 0;
};

/// Mean loss and accuracy over a loader, in eval mode, recording no graph.
Eval evaluate(nn::Module& net, data::DataLoader& loader) {
  const bool was_training = net.is_training();
  net.eval();
  NoGradGuard no_grad;
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
  for (auto& [x, y] : loader) {
    const Tensor logits = net(x);
    loss_sum += cross_entropy(logits, y, "sum").item();
    correct += static_cast<int64_t>(sum(eq(argmax(logits, 1), y).to(kFloat64)).item());
    seen += x.size(0);
  }
  net.train(was_training);
  return {loss_sum / static_cast<double>(seen), static_cast<double>(correct) / static_cast<double>(seen)};
}

}  // namespace

int main(int argc, char** argv) {
  return example::run_main([&] {
    example::CommandLine cl("custom_loop", "Train the MNIST MLP with a hand-written training loop", {});
    example::add_mnist_option(cl);
    if (!cl.parse(argc, argv)) return 0;
    const example::Args& a = cl.args;
    const example::MnistData data = example::load_mnist_data(cl, /*flatten=*/true);

    auto net = nn::sequential({nn::Linear(784, 128), nn::ReLU(), nn::Dropout(0.2), nn::Linear(128, 10)});
    // Under mpirun (more than one process): rank 0's weights everywhere, gradients averaged in
    // backward, each process its share of every epoch. One process: the model itself.
    dist::ensure_session();
    const bool parallel = dist::world_size() > 1;
    std::shared_ptr<nn::Module> model = net;
    if (parallel) model = std::make_shared<dist::DistributedDataParallel>(net);
    optim::Adam opt(model->parameters(), optim::AdamOptions{.lr = a.lr});
    optim::CosineAnnealingLR schedule(opt, a.epochs);
    data::LoaderOptions lo{.batch_size = a.batch_size, .shuffle = true, .seed = a.seed};
    if (parallel) lo.sampler = std::make_shared<dist::DistributedSampler>(data.train->size(), -1, -1, true, a.seed);
    data::DataLoader train_loader(data.train, lo);
    data::DataLoader test_loader(data.test, {.batch_size = 256});

    train::History history;
    const double t0 = example::start_clock();
    for (int64_t epoch = 0; epoch < a.epochs; ++epoch) {
      const double epoch_start = train::steady_seconds();
      const double lr = opt.lr(0);
      net->train();
      double loss_sum = 0;
      int64_t correct = 0, seen = 0;
      for (auto& [x, y] : train_loader) {
        opt.zero_grad();
        const Tensor logits = (*model)(x);
        Tensor loss = cross_entropy(logits, y);
        loss.backward();
        opt.step();
        NoGradGuard no_grad;
        loss_sum += loss.item() * static_cast<double>(x.size(0));
        correct += static_cast<int64_t>(sum(eq(argmax(logits, 1), y).to(kFloat64)).item());
        seen += x.size(0);
      }
      schedule.step();
      if (parallel) {  // every process's samples count
        Tensor t =
            from_vector(std::vector<double>{loss_sum, static_cast<double>(correct), static_cast<double>(seen)}, {3});
        dist::all_reduce(t, dist::ReduceOp::Sum, "epoch metrics");
        const auto v = t.to_vector<double>();
        loss_sum = v[0], correct = static_cast<int64_t>(v[1]), seen = static_cast<int64_t>(v[2]);
      }
      const Eval test = evaluate(*net, test_loader);
      const train::Logs logs{{"loss", loss_sum / static_cast<double>(seen)},
                             {"accuracy", static_cast<double>(correct) / static_cast<double>(seen)},
                             {"test_loss", test.loss},
                             {"test_accuracy", test.accuracy},
                             {"lr", lr}};
      history.append(epoch, logs);
      if (a.verbose > 0)
        example::out() << fmt::format(
                              "Epoch {}/{} - {:.1f}s - loss: {:.4f} - accuracy: {:.4f} - test_loss: {:.4f} - "
                              "test_accuracy: {:.4f} - lr: {:.6f}\n",
                              epoch + 1, a.epochs, train::steady_seconds() - epoch_start, logs["loss"],
                              logs["accuracy"], test.loss, test.accuracy, lr)
                       << std::flush;
    }
    const double seconds = train::steady_seconds() - t0;
    if (!a.history.empty()) example::write_history(history, a.history);
    example::save_weights(*net, a.save);
    example::export_onnx(*net, a.export_onnx, {1, 784});
    const Eval test = evaluate(*net, test_loader);
    example::print_result(test.accuracy, test.loss, a.epochs, seconds);
    return 0;
  });
}
