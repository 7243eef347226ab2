// A small convolutional network on MNIST with compile / fit / evaluate:
// Conv2D 32 3×3 ReLU → MaxPool 2×2 → Flatten → Dense 10, Adam with the learning rate cut to 0.3× each
// epoch (a LearningRateScheduler callback), 3 epochs.
//
//   mnist_cnn --epochs 3 --save cnn.safetensors
#include <memory>

#include "example_util.h"
#include "xgrad/nn.h"
#include "xgrad/optim.h"

using namespace xg;

int main(int argc, char** argv) {
  return example::run_main([&] {
    example::CommandLine cl("mnist_cnn", "Train a small CNN on MNIST (or Fashion-MNIST) with Model::fit",
                            {.epochs = 3, .lr = 7e-3});
    example::add_mnist_fit_options(cl, /*lr_decay=*/0.3);
    if (!cl.parse(argc, argv)) return 0;
    const example::MnistData data = example::load_mnist_data(cl, /*flatten=*/false);

    // [N, 1, 28, 28] → conv 3×3 → [N, 32, 26, 26] → pool → [N, 32, 13, 13] → 5408 features.
    auto net = nn::sequential(
        {nn::Conv2d(1, 32, 3), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(32 * 13 * 13, 10)});
    return example::fit_mnist("mnist_cnn", net, data, cl);
  });
}
