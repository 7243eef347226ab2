// A small MLP on the iris flowers with compile / fit / evaluate: 4 → 10 ReLU → 8 ReLU → 3,
// standardised features (the scaler fitted on the training part only), a stratified 80/20 split.
//
//   iris_mlp --epochs 100 --data-dir ../shared/data
#include <memory>

#include "example_util.h"
#include "xgrad/nn.h"
#include "xgrad/optim.h"

using namespace xg;

int main(int argc, char** argv) {
  return example::run_main([&] {
    cxxopts::Options opts("iris_mlp", "Train a small MLP on the iris data set with Model::fit");
    example::Args a;
    a.epochs = 100;
    a.batch_size = 16;
    a.lr = 0.01;
    a.verbose = 2;
    example::add_common_options(opts, a);
    opts.add_options()("test-fraction", "Fraction of the samples held out for testing",
                       cxxopts::value<double>()->default_value("0.2"));
    cxxopts::ParseResult r;
    if (!example::parse(opts, argc, argv, a, r)) return 0;

    const auto dir = data::find_dataset("iris", a.data_dir);
    std::cout << "Data: iris from " << dir.string() << "\n";
    const data::CSVDataset iris(dir / "iris.csv");
    auto split = data::train_test_split(iris.features(), iris.targets(), r["test-fraction"].as<double>(), a.seed,
                                        /*stratify=*/true);
    if (a.limit > 0 && a.limit < split.x_train.size(0)) {
      split.x_train = split.x_train.narrow(0, 0, a.limit);
      split.y_train = split.y_train.narrow(0, 0, a.limit);
    }
    data::StandardScaler scaler;
    const Tensor x_train = scaler.fit_transform(split.x_train);
    const Tensor x_test = scaler.transform(split.x_test);
    std::cout << "Training samples: " << x_train.size(0) << ", test samples: " << x_test.size(0)
              << ", classes: " << iris.num_classes() << "\n";

    auto net = std::make_shared<nn::Sequential>(nn::Linear(4, 10), nn::ReLU(), nn::Linear(10, 8), nn::ReLU(),
                                                nn::Linear(8, iris.num_classes()));
    train::Model model(net);
    model.compile(std::make_shared<optim::Adam>(net->parameters(), optim::AdamOptions{.lr = a.lr}),
                  "sparse_categorical_crossentropy", {"accuracy"});

    std::vector<std::shared_ptr<train::Callback>> callbacks;
    if (!a.history.empty()) callbacks.push_back(std::make_shared<train::CSVLogger>(a.history));
    const double t0 = train::steady_seconds();
    const train::History h = model.fit(x_train, split.y_train,
                                       {.epochs = a.epochs,
                                        .batch_size = a.batch_size,
                                        .validation_data = {x_test, split.y_test},
                                        .callbacks = callbacks,
                                        .verbose = a.verbose,
                                        .seed = a.seed});
    const double seconds = train::steady_seconds() - t0;
    if (!a.save.empty()) {
      model.save(a.save);
      std::cout << "Saved the weights to " << a.save << "\n";
    }
    const train::Logs test = model.evaluate(x_test, split.y_test);
    std::cout << fmt::format("Test: loss {:.4f}, accuracy {:.4f}\n", test["loss"], test["accuracy"]);
    example::print_result(test["accuracy"], test["loss"], static_cast<int64_t>(h.size()), seconds);
    return 0;
  });
}
