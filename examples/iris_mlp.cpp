// A small MLP on the iris flowers with compile / fit / evaluate: 4 → 10 ReLU → 8 ReLU → 3,
// standardised features (the scaler fitted on the training part only), a stratified 80/20 split,
// Adam with a small L2 penalty. Thirty test flowers make one split's accuracy move in steps of 3.3%,
// so --repeats N trains on N different splits and reports the mean.
//
//   iris_mlp --epochs 100 --repeats 20 --data-dir ../shared/data
#include <memory>

#include "example_util.h"
#include "xgrad/nn.h"
#include "xgrad/optim.h"
#include "xgrad/random.h"

using namespace xg;

int main(int argc, char** argv) {
  return example::run_main([&] {
    example::CommandLine cl("iris_mlp", "Train a small MLP on the iris data set with Model::fit",
                            {.epochs = 100, .batch_size = 16, .lr = 0.01, .verbose = 2});
    cl.add_double("test-fraction", "Fraction of the samples held out for testing", 0.2)
        .add_double("weight-decay", "L2 penalty on the weights (Adam's weight_decay)", 0.01)
        .add_int("repeats", "Train and test on this many stratified splits (seeds seed, seed+1, …) and report the mean",
                 1);
    if (!cl.parse(argc, argv)) return 0;
    const example::Args& a = cl.args;

    const auto dir = data::find_dataset("iris", a.data_dir);
    example::out() << "Data: iris from " << dir.string() << "\n";
    const data::CSVDataset iris(dir / "iris.csv");
    const double test_fraction = cl.get_double("test-fraction"), weight_decay = cl.get_double("weight-decay");
    const int64_t repeats = cl.get_int("repeats");
    if (repeats < 1) throw ValueError(fmt::format("iris_mlp: --repeats must be at least 1 (got {})", repeats));

    // One stratified split, a fresh model trained on it, and its test metrics. The split and the
    // weights both follow `seed`.
    auto run_split = [&](uint64_t seed, bool report) {
      manual_seed(seed);
      auto split = data::train_test_split(iris.features(), iris.targets(), test_fraction, seed, /*stratify=*/true);
      if (a.limit > 0 && a.limit < split.x_train.size(0)) {
        split.x_train = split.x_train.narrow(0, 0, a.limit);
        split.y_train = split.y_train.narrow(0, 0, a.limit);
      }
      data::StandardScaler scaler;
      const Tensor x_train = scaler.fit_transform(split.x_train);
      const Tensor x_test = scaler.transform(split.x_test);
      if (report)
        example::out() << "Training samples: " << x_train.size(0) << ", test samples: " << x_test.size(0)
                       << ", classes: " << iris.num_classes() << "\n";

      auto net = nn::sequential(
          {nn::Linear(4, 10), nn::ReLU(), nn::Linear(10, 8), nn::ReLU(), nn::Linear(8, iris.num_classes())});
      train::Model model(net);
      model.compile(std::make_shared<optim::Adam>(net->parameters(),
                                                  optim::AdamOptions{.lr = a.lr, .weight_decay = weight_decay}),
                    "sparse_categorical_crossentropy", {"accuracy"});
      std::vector<std::shared_ptr<train::Callback>> callbacks;
      if (report && !a.history.empty()) callbacks.push_back(std::make_shared<train::CSVLogger>(a.history));
      const train::History h = model.fit(x_train, split.y_train,
                                         {.epochs = a.epochs,
                                          .batch_size = a.batch_size,
                                          .validation_data = {x_test, split.y_test},
                                          .callbacks = callbacks,
                                          .verbose = report ? a.verbose : 0,
                                          .seed = seed});
      if (report) example::save_weights(model.module(), a.save);
      if (report) example::export_onnx(model.module(), a.export_onnx, {1, 4});
      train::Logs test = model.evaluate(x_test, split.y_test);
      test.set("epochs", static_cast<double>(h.size()));
      return test;
    };

    const double t0 = example::start_clock();
    double accuracy = 0, loss = 0;
    int64_t epochs = 0;
    for (int64_t i = 0; i < repeats; ++i) {
      const uint64_t seed = a.seed + static_cast<uint64_t>(i);
      const train::Logs test = run_split(seed, i == 0);
      example::out() << fmt::format("Test (split seed {}): loss {:.4f}, accuracy {:.4f}\n", seed, test["loss"],
                                    test["accuracy"]);
      accuracy += test["accuracy"] / static_cast<double>(repeats);
      loss += test["loss"] / static_cast<double>(repeats);
      epochs = static_cast<int64_t>(test["epochs"]);
    }
    if (repeats > 1)
      example::out() << fmt::format("Mean over {} splits: loss {:.4f}, accuracy {:.4f}\n", repeats, loss, accuracy);
    example::print_result(accuracy, loss, epochs, train::steady_seconds() - t0);
    return 0;
  });
}
