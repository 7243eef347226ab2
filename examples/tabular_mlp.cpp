// An MLP on any CSV table: the columns' types are inferred, missing cells and categories handled
// by a Recipe chosen with flags and fitted on the training split only, then a seeded 80/20 split
// (stratified for classification), Adam, and held-out metrics. --save-model DIR writes the weights,
// the recipe (JSON) and the layer sizes; --load-model DIR --predict FILE applies exactly the same
// steps to a new CSV in another process.
//
//   tabular_mlp --csv breast_cancer.csv --skip-rows 1 --no-header            (label: the last column)
//   tabular_mlp --csv wine_data.csv --skip-rows 1 --no-header
//   tabular_mlp --csv diabetes_data_raw.csv.gz --target-csv diabetes_target.csv.gz --no-header
//               --task regression
//   tabular_mlp --csv mine.csv --label price --task regression --missing median --unknown ignore
//               --save-model out/   (then: tabular_mlp --load-model out/ --predict new.csv --output pred.csv)
//
// A --csv, --target-csv or --predict name that is not a file here is looked up in the data folder's
// tabular/ (--data-dir, $XGRAD_DATA or ../shared/data), where scikit-learn's CSV files are.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/ranges.h>

#include "example_util.h"
#include "xgrad/io/safetensors.h"
#include "xgrad/nn.h"
#include "xgrad/optim.h"
#include "xgrad/random.h"

using namespace xg;
namespace fs = std::filesystem;

namespace {

/// `name` as given when it is a file; else, when it is a bare name, the data folder's tabular/name.
fs::path resolve(const std::string& name, const std::string& data_dir) {
  std::error_code ec;
  if (fs::exists(name, ec) || fs::path(name).has_parent_path()) return name;
  return data::find_dataset("tabular", data_dir) / name;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

template <class E>
E choose(const std::string& flag, const std::string& value, const std::vector<std::pair<std::string, E>>& options) {
  std::string known;
  for (const auto& [name, e] : options) {
    if (name == value) return e;
    known += (known.empty() ? "" : ", ") + name;
  }
  throw ValueError(fmt::format("--{} must be one of {}, got '{}'", flag, known, value));
}

char delimiter_of(const std::string& d) {
  if (d == "auto") return '\0';
  if (d == "tab" || d == "\\t") return '\t';
  if (d == "space") return ' ';
  if (d.size() == 1) return d[0];
  throw ValueError(fmt::format("--delimiter must be auto, tab, space or one character, got '{}'", d));
}

/// Through a temporary file renamed into place, as Recipe::save writes the recipe.
void write_file_atomically(const fs::path& file, const std::string& text) {
  io::write_file_atomically(file.string(),
                            [&](std::FILE* f) { return std::fwrite(text.data(), 1, text.size(), f) == text.size(); });
}

std::shared_ptr<nn::Module> make_net(int64_t inputs, const std::vector<int64_t>& hidden, int64_t outputs) {
  auto net = std::make_shared<nn::Sequential>();
  int64_t width = inputs;
  for (int64_t h : hidden) {
    net->add(nn::Linear(width, h));
    net->add(nn::ReLU());
    width = h;
  }
  net->add(nn::Linear(width, outputs));
  return net;
}

/// The network's layer sizes as saved beside the weights: "inputs F\nhidden 64,32\noutputs K\n".
struct NetShape {
  int64_t inputs = 0, outputs = 0;
  std::vector<int64_t> hidden;
  std::string text() const {
    return fmt::format("inputs {}\nhidden {}\noutputs {}\n", inputs, fmt::join(hidden, ","), outputs);
  }
  static NetShape read(const fs::path& file) {
    std::ifstream f(file);
    if (!f) throw IOError(fmt::format("cannot open '{}'", file.string()));
    NetShape s;
    std::string key, hidden;
    if (!(f >> key >> s.inputs) || key != "inputs" || !(f >> key) || key != "hidden" || !(f >> hidden) ||
        !(f >> key >> s.outputs) || key != "outputs" || s.inputs < 1 || s.outputs < 1)
      throw IOError(fmt::format("'{}' is not a network description (inputs/hidden/outputs lines)", file.string()));
    for (const auto& h : split_list(hidden)) s.hidden.push_back(std::stoll(h));
    return s;
  }
};

std::vector<int64_t> parse_hidden(const std::string& s) {
  std::vector<int64_t> out;
  for (const auto& h : split_list(s)) {
    int64_t v = 0;
    try {
      v = std::stoll(h);
    } catch (const std::exception&) {
      v = 0;
    }
    if (v < 1) throw ValueError(fmt::format("--hidden takes positive layer widths like 64,32, got '{}'", s));
    out.push_back(v);
  }
  return out;
}

/// Predictions for `t` as CSV: line, prediction (class or value), and the probability of the
/// predicted class for classification. Returns the text and, when t has labels, the accuracy
/// (classification) or R^2 (regression) in `score`.
std::string predict_csv(train::Model& model, const data::Recipe& recipe, const data::Table& t, double& score) {
  const bool labelled = t.has_column(recipe.options().label);
  const data::TabularTensors d = recipe.transform(t, labelled);
  const Tensor out = model.predict(d.features, 256).to(kFloat64).contiguous();
  const double* o = out.data<double>();
  const int64_t n = d.features.size(0), k = out.size(1);
  std::string csv =
      recipe.options().task == data::Task::Regression ? "line,prediction\n" : "line,prediction,probability\n";
  int64_t correct = 0;
  double ss_res = 0, ss_tot = 0, mean_y = 0;
  std::vector<double> truth, values;
  if (recipe.options().task == data::Task::Regression) {
    values = recipe.inverse_target(out).to_vector<double>();
    if (labelled) truth = recipe.inverse_target(d.targets).to_vector<double>();
    for (double y : truth) mean_y += y / static_cast<double>(n);
  }
  for (int64_t i = 0; i < n; ++i) {
    const int64_t line = t.line(d.rows[static_cast<size_t>(i)]);
    if (recipe.options().task == data::Task::Regression) {
      const double y = values[static_cast<size_t>(i)];
      csv += fmt::format("{},{}\n", line, y);
      if (labelled) {
        const double yt = truth[static_cast<size_t>(i)];
        ss_res += (yt - y) * (yt - y), ss_tot += (yt - mean_y) * (yt - mean_y);
      }
      continue;
    }
    int64_t cls = 0;
    double prob = 0;
    if (recipe.binary()) {
      prob = 1 / (1 + std::exp(-o[i]));
      cls = prob > 0.5 ? 1 : 0;
      if (!cls) prob = 1 - prob;
    } else {
      double mx = o[i * k], sum = 0;
      for (int64_t j = 1; j < k; ++j)
        if (o[i * k + j] > mx) mx = o[i * k + j], cls = j;
      for (int64_t j = 0; j < k; ++j) sum += std::exp(o[i * k + j] - mx);
      prob = 1 / sum;
    }
    csv += fmt::format("{},{},{}\n", line, recipe.classes()[static_cast<size_t>(cls)], prob);
    if (labelled) {
      const int64_t truth_cls =
          recipe.binary() ? static_cast<int64_t>(d.targets.data<float>()[i]) : d.targets.data<int64_t>()[i];
      correct += truth_cls == cls;
    }
  }
  score = !labelled                                         ? std::nan("")
          : recipe.options().task == data::Task::Regression ? 1 - ss_res / ss_tot
                                                            : static_cast<double>(correct) / static_cast<double>(n);
  return csv;
}

/// The flags beyond the common ones: data, preprocessing, model.
void add_options(example::CommandLine& cl) {
  cl.add_string("csv", "The CSV file to train on", "", "Data")
      .add_string("label", "The target column (default: the last column, or 'target' with --target-csv)", "", "Data")
      .add_string("target-csv", "A one-column file holding the target, joined to --csv row by row", "", "Data")
      .add_string("task", "classification or regression", "classification", "Data")
      .add_string("delimiter", "auto, ',', ';', tab, space or any character", "auto", "Data")
      .add_int("skip-rows", "Lines to skip before the header or data (1 for scikit-learn's counts line)", 0, "Data")
      .add_flag("no-header", "The first row is data; columns are named c1, c2, …", "Data")
      .add_string("select", "Use only these columns (comma-separated, the label included)", "", "Data")
      .add_string("drop", "Leave out these columns (comma-separated)", "", "Data")
      .add_string("categorical", "Treat these columns as categories even when numeric", "", "Data");
  cl.add_string("missing", "Missing cells: refuse, drop, mean, median, most_frequent, constant", "refuse",
                "Preprocessing")
      .add_double("fill-value", "--missing constant: the value for numeric columns", 0, "Preprocessing")
      .add_string("fill-category", "--missing constant: the category for categorical columns", "missing",
                  "Preprocessing")
      .add_string("encoding", "Categories: onehot or ordinal", "onehot", "Preprocessing")
      .add_string("unknown", "A category not seen in training: refuse or ignore (all zeros)", "refuse", "Preprocessing")
      .add_string("scaling", "Numeric columns: standard, minmax or none", "standard", "Preprocessing");
  cl.add_string("hidden", "Hidden layer widths", "16", "Model")
      .add_double("weight-decay", "L2 penalty (Adam's weight_decay)", 0.01, "Model")
      .add_double("test-fraction", "Held-out fraction", 0.2, "Model")
      .add_string("save-model", "Write model.safetensors, recipe.json and network.txt into this folder", "", "Model")
      .add_string("load-model", "Predict with the model saved in this folder (no training)", "", "Model")
      .add_string("predict", "Predict this CSV (same columns; the label may be absent)", "", "Model")
      .add_string("output", "Write the predictions here (default: standard output)", "", "Model");
}

/// Predicts --predict FILE with a trained model and its recipe: to --output or stdout, and the score
/// when the file holds labels.
void write_predictions(train::Model& model, const data::Recipe& recipe, const example::CommandLine& cl) {
  const std::string output = cl.get_string("output");
  const fs::path file = resolve(cl.get_string("predict"), cl.args.data_dir);
  const data::Table t = data::Table::read_csv(file, recipe.read_options);
  double score = 0;
  const std::string text = predict_csv(model, recipe, t, score);
  if (output.empty()) {
    example::out() << text;
  } else {
    write_file_atomically(output, text);
    example::out() << fmt::format("Wrote {} predictions for '{}' to {}\n", t.num_rows(), file.string(), output);
  }
  if (!std::isnan(score))
    example::out() << fmt::format("Predicted '{}': {} {:.4f}\n", file.string(),
                                  recipe.options().task == data::Task::Regression ? "r2" : "accuracy", score);
}

/// --load-model DIR --predict FILE: the saved recipe, layer sizes and weights, no training.
int predict_with_saved_model(const std::string& load_dir, const example::CommandLine& cl) {
  if (cl.get_string("predict").empty()) throw ValueError("--load-model needs --predict FILE");
  const data::Recipe recipe = data::Recipe::load(fs::path(load_dir) / "recipe.json");
  const NetShape shape = NetShape::read(fs::path(load_dir) / "network.txt");
  if (shape.inputs != recipe.num_features() || shape.outputs != recipe.num_outputs())
    throw IOError(fmt::format("'{}': network.txt ({} inputs, {} outputs) does not match recipe.json ({}, {})", load_dir,
                              shape.inputs, shape.outputs, recipe.num_features(), recipe.num_outputs()));
  auto net = make_net(shape.inputs, shape.hidden, shape.outputs);
  train::Model model(net);
  model.load((fs::path(load_dir) / "model.safetensors").string());
  write_predictions(model, recipe, cl);
  return 0;
}

/// The training table: --csv, joined to --target-csv, with --select and --drop; `label` comes back
/// as the target column's name (--label, "target" for a --target-csv, else the last column).
data::Table read_training_table(const example::CommandLine& cl, const data::TableReadOptions& ro,
                                const fs::path& csv_file, std::string& label) {
  data::Table table = data::Table::read_csv(csv_file, ro);
  label = cl.get_string("label");
  if (const std::string target = cl.get_string("target-csv"); !target.empty()) {
    data::Table y = data::Table::read_csv(resolve(target, cl.args.data_dir), ro);
    if (y.num_columns() != 1)
      throw ValueError(fmt::format("--target-csv '{}' has {} columns; it must have one", target, y.num_columns()));
    if (label.empty()) label = "target";
    table = table.concat_columns(y.rename(y.column(0).name, label));
  }
  if (label.empty()) label = table.column(table.num_columns() - 1).name;
  if (const auto sel = split_list(cl.get_string("select")); !sel.empty()) table = table.select(sel);
  if (const auto drop = split_list(cl.get_string("drop")); !drop.empty()) table = table.drop(drop);
  return table;
}

/// The recipe the preprocessing flags ask for.
data::RecipeOptions recipe_options(const example::CommandLine& cl, const std::string& label) {
  data::RecipeOptions ropt;
  ropt.label = label;
  ropt.task =
      choose<data::Task>("task", cl.get_string("task"),
                         {{"classification", data::Task::Classification}, {"regression", data::Task::Regression}});
  ropt.missing = choose<data::Missing>("missing", cl.get_string("missing"),
                                       {{"refuse", data::Missing::Refuse},
                                        {"drop", data::Missing::DropRows},
                                        {"mean", data::Missing::Mean},
                                        {"median", data::Missing::Median},
                                        {"most_frequent", data::Missing::MostFrequent},
                                        {"constant", data::Missing::Constant}});
  ropt.fill_number = cl.get_double("fill-value");
  ropt.fill_category = cl.get_string("fill-category");
  ropt.encoding = choose<data::Encoding>("encoding", cl.get_string("encoding"),
                                         {{"onehot", data::Encoding::OneHot}, {"ordinal", data::Encoding::Ordinal}});
  ropt.unknown = choose<data::Unknown>("unknown", cl.get_string("unknown"),
                                       {{"refuse", data::Unknown::Refuse}, {"ignore", data::Unknown::Ignore}});
  ropt.scaling = choose<data::Scaling>(
      "scaling", cl.get_string("scaling"),
      {{"standard", data::Scaling::Standard}, {"minmax", data::Scaling::MinMax}, {"none", data::Scaling::None}});
  ropt.categorical = split_list(cl.get_string("categorical"));
  return ropt;
}

/// What the fitted recipe made of the table, on stdout.
void describe_recipe(const data::Recipe& recipe, const data::TabularTensors& tr, const data::TabularTensors& te,
                     uint64_t seed) {
  if (!recipe.skipped_columns().empty())
    example::out() << fmt::format("Skipped empty columns: {}\n", fmt::join(recipe.skipped_columns(), ", "));
  example::out() << fmt::format("Features after encoding: {}; ", recipe.num_features());
  if (recipe.options().task == data::Task::Regression)
    example::out() << "task: regression (target standardised on the training split)\n";
  else
    example::out() << fmt::format("classes ({}): {}\n", recipe.classes().size(), fmt::join(recipe.classes(), ", "));
  example::out() << fmt::format("Split seed {}: {} training rows, {} test rows\n", seed, tr.features.size(0),
                                te.features.size(0));
}

/// Adam over the network, with the loss and metrics that suit the task (binary: logits and
/// precision, recall, AUC).
void compile(train::Model& model, const data::Recipe& recipe, double lr, double weight_decay) {
  const bool regression = recipe.options().task == data::Task::Regression;
  const std::string loss = regression ? "mse" : recipe.binary() ? "bce_with_logits" : "sparse_categorical_crossentropy";
  std::vector<train::MetricArg> metrics;
  if (regression)
    metrics = {"mae", "mse"};
  else if (recipe.binary())
    metrics = {"accuracy", "precision", "recall", "auc"};
  else
    metrics = {"accuracy"};
  model.compile(std::make_shared<optim::Adam>(model.module().parameters(),
                                              optim::AdamOptions{.lr = lr, .weight_decay = weight_decay}),
                loss, metrics);
}

/// The regression result line: R^2 and MAE in the target's own units.
void print_regression_result(train::Model& model, const data::Recipe& recipe, const data::TabularTensors& te,
                             size_t epochs, double seconds) {
  const std::vector<double> p = recipe.inverse_target(model.predict(te.features, 256)).to_vector<double>();
  const std::vector<double> y = recipe.inverse_target(te.targets).to_vector<double>();
  double mean = 0, ss_res = 0, ss_tot = 0, mae = 0;
  for (double v : y) mean += v / static_cast<double>(y.size());
  for (size_t i = 0; i < y.size(); ++i) {
    ss_res += (y[i] - p[i]) * (y[i] - p[i]), ss_tot += (y[i] - mean) * (y[i] - mean);
    mae += std::abs(y[i] - p[i]) / static_cast<double>(y.size());
  }
  example::out() << fmt::format("result: test_r2={:.4f} test_mae={:.4f} epochs={} train_seconds={:.2f}",
                                1 - ss_res / ss_tot, mae, epochs, seconds)
                 << std::endl;
}

/// --save-model DIR: the weights, the recipe and the layer sizes.
void save_model(const std::string& dir, const train::Model& model, const data::Recipe& recipe,
                const std::vector<int64_t>& hidden) {
  fs::create_directories(dir);
  model.save((fs::path(dir) / "model.safetensors").string());
  recipe.save(fs::path(dir) / "recipe.json");
  write_file_atomically(fs::path(dir) / "network.txt",
                        NetShape{recipe.num_features(), recipe.num_outputs(), hidden}.text());
  example::out() << "Saved the model, its recipe and layer sizes to " << dir << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  return example::run_main([&] {
    example::CommandLine cl("tabular_mlp", "Train an MLP on a CSV table with a saved preprocessing recipe",
                            {.epochs = 30, .batch_size = 32, .lr = 0.003, .seed = 0, .verbose = 0});
    add_options(cl);
    if (!cl.parse(argc, argv)) return 0;
    const example::Args& a = cl.args;
    const std::string csv = cl.get_string("csv"), load_dir = cl.get_string("load-model");
    if (!load_dir.empty()) return predict_with_saved_model(load_dir, cl);
    if (csv.empty()) throw ValueError("give --csv FILE to train on (or --load-model DIR --predict FILE)");

    // ---- read, join, choose columns
    data::TableReadOptions ro;
    ro.delimiter = delimiter_of(cl.get_string("delimiter"));
    ro.skip_rows = cl.get_int("skip-rows");
    ro.header = !cl.flag("no-header");
    const fs::path csv_file = resolve(csv, a.data_dir);
    std::string label;
    const data::Table table = read_training_table(cl, ro, csv_file, label);
    const data::RecipeOptions ropt = recipe_options(cl, label);
    const std::vector<int64_t> hidden = parse_hidden(cl.get_string("hidden"));
    const double test_fraction = cl.get_double("test-fraction");
    const bool regression = ropt.task == data::Task::Regression;
    if (!table.has_column(label))  // before anything else, with the columns there are
      throw ValueError(fmt::format("--label: '{}' has no column '{}' (columns: {})", csv_file.string(), label,
                                   fmt::join(table.column_names(), ", ")));

    example::out() << "Schema: " << table.schema();

    // ---- split, fit the recipe on the training rows only, transform both
    const auto [train_t, test_t] = table.split(test_fraction, a.seed, regression ? "" : label);
    data::Recipe recipe(ropt);
    recipe.read_options = ro;
    recipe.fit(train_t);
    const data::TabularTensors tr = recipe.transform(train_t), te = recipe.transform(test_t);
    describe_recipe(recipe, tr, te, a.seed);

    // ---- train, evaluate, save, predict
    manual_seed(a.seed);
    train::Model model(make_net(recipe.num_features(), hidden, recipe.num_outputs()));
    compile(model, recipe, a.lr, cl.get_double("weight-decay"));
    const double t0 = example::start_clock();
    const train::History h =
        model.fit(tr.features, tr.targets,
                  {.epochs = a.epochs, .batch_size = a.batch_size, .verbose = a.verbose, .seed = a.seed});
    const double seconds = train::steady_seconds() - t0;
    const train::Logs test = model.evaluate(te.features, te.targets);
    std::string line = regression ? "Held-out (standardised target):" : "Held-out:";
    for (const auto& key : test.keys()) line += fmt::format(" {} {:.4f}", key, test[key]);
    example::out() << line << "\n";
    if (regression)
      print_regression_result(model, recipe, te, h.size(), seconds);
    else
      example::print_result(test["accuracy"], test["loss"], static_cast<int64_t>(h.size()), seconds);

    if (const std::string dir = cl.get_string("save-model"); !dir.empty()) save_model(dir, model, recipe, hidden);
    // The network alone, on encoded features (the recipe's preprocessing stays in xgrad).
    example::export_onnx(model.module(), a.export_onnx, {1, recipe.num_features()});
    if (!cl.get_string("predict").empty()) write_predictions(model, recipe, cl);
    return 0;
  });
}
