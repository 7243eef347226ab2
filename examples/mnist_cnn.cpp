// A small convolutional network on MNIST with compile / fit / evaluate:
// Conv2D 32 3×3 ReLU → MaxPool 2×2 → Flatten → Dense 10, Adam with the learning rate cut to 0.3× each
// epoch (a LearningRateScheduler callback), 3 epochs.
//
//   mnist_cnn --epochs 3 --save cnn.safetensors
#include <cmath>
#include <memory>

#include "example_util.h"
#include "xgrad/nn.h"
#include "xgrad/optim.h"

using namespace xg;

int main(int argc, char** argv) {
  return example::run_main([&] {
    cxxopts::Options opts("mnist_cnn", "Train a small CNN on MNIST (or Fashion-MNIST) with Model::fit");
    example::Args a;
    a.epochs = 3;
    a.lr = 7e-3;
    example::add_common_options(opts, a);
    opts.add_options()("dataset", "mnist or fashion (default: MNIST, or Fashion-MNIST when only that is found)",
                       cxxopts::value<std::string>()->default_value(""))(
        "validation-split", "Fraction of the training samples held out for per-epoch validation",
        cxxopts::value<double>()->default_value("0"))("lr-decay", "Learning rate factor applied after each epoch",
                                                      cxxopts::value<double>()->default_value("0.3"));
    cxxopts::ParseResult r;
    if (!example::parse(opts, argc, argv, a, r)) return 0;

    const auto src = example::find_mnist(r["dataset"].as<std::string>(), a.data_dir);
    example::out() << "Data: " << src.name() << " from " << src.dir.string() << "\n";
    auto train_set = example::first_n(example::load_mnist(src, data::Split::Train, /*flatten=*/false), a.limit);
    auto test_set = example::load_mnist(src, data::Split::Test, /*flatten=*/false);
    example::out() << "Training samples: " << train_set->size() << ", test samples: " << test_set->size() << "\n";

    // [N, 1, 28, 28] → conv 3×3 → [N, 32, 26, 26] → pool → [N, 32, 13, 13] → 5408 features.
    auto net = nn::sequential(
        {nn::Conv2d(1, 32, 3), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(32 * 13 * 13, 10)});
    train::Model model(net);
    model.compile(std::make_shared<optim::Adam>(net->parameters(), optim::AdamOptions{.lr = a.lr}),
                  "sparse_categorical_crossentropy", {"accuracy"});

    const double lr0 = a.lr, decay = r["lr-decay"].as<double>();
    std::vector<std::shared_ptr<train::Callback>> callbacks{std::make_shared<train::LearningRateScheduler>(
        [lr0, decay](int64_t epoch, double) { return lr0 * std::pow(decay, static_cast<double>(epoch)); })};
    if (!a.history.empty()) callbacks.push_back(std::make_shared<train::CSVLogger>(a.history));
    auto report = example::add_log_callbacks(
        callbacks, a, {.title = "mnist_cnn: " + src.name(), .per_batch = true, .input_shape = {1, 1, 28, 28}});
    const double t0 = train::steady_seconds();
    const train::History h = model.fit(train_set, {.epochs = a.epochs,
                                                   .batch_size = a.batch_size,
                                                   .validation_split = r["validation-split"].as<double>(),
                                                   .callbacks = callbacks,
                                                   .verbose = a.verbose,
                                                   .seed = a.seed});
    const double seconds = train::steady_seconds() - t0;
    if (!a.save.empty() && example::is_root()) {  // one writer for the one file
      model.save(a.save);
      example::out() << "Saved the weights to " << a.save << "\n";
    }
    const train::Logs test = model.evaluate(test_set, {.batch_size = 256});
    example::out() << fmt::format("Test ({}): loss {:.4f}, accuracy {:.4f}\n", src.name(), test["loss"],
                                  test["accuracy"]);
    if (report) report->set_test_metrics(test);
    example::print_result(test["accuracy"], test["loss"], static_cast<int64_t>(h.size()), seconds);
    return 0;
  });
}
