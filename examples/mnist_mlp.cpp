// A multilayer perceptron on MNIST, written the Keras way with compile / fit / evaluate:
// Flatten → Dense 128 ReLU → Dropout 0.2 → Dense 10, Adam 2e-3 cut to 0.7× each epoch (a
// LearningRateScheduler callback), 5 epochs: 97.8–98.0% test accuracy.
//
//   mnist_mlp --epochs 5 --data-dir ../shared/data --save mlp.safetensors --history mlp.csv
//   mnist_mlp --tensorboard runs/mlp --report mlp.html
#include <memory>

#include "example_util.h"
#include "xgrad/nn.h"
#include "xgrad/optim.h"

using namespace xg;

int main(int argc, char** argv) {
  return example::run_main([&] {
    example::CommandLine cl("mnist_mlp", "Train a multilayer perceptron on MNIST (or Fashion-MNIST) with Model::fit",
                            {.lr = 2e-3});
    example::add_mnist_fit_options(cl, /*lr_decay=*/0.7);
    if (!cl.parse(argc, argv)) return 0;
    const example::MnistData data = example::load_mnist_data(cl, /*flatten=*/false);

    auto net = nn::sequential({nn::Flatten(), nn::Linear(784, 128), nn::ReLU(), nn::Dropout(0.2), nn::Linear(128, 10)});
    return example::fit_mnist("mnist_mlp", net, data, cl);
  });
}
