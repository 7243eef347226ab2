/// find_dataset: resolves a data set's folder from a flag, XGRAD_DATA, ../shared/data or
/// /usr/share/datasets, and explains how to get the data when it is nowhere.
#include "xgrad/data/locate.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <system_error>

#include <fmt/format.h>

#include "xgrad/error.h"

namespace xg::data {
namespace fs = std::filesystem;

namespace {

struct Spec {
  const char* title;
  std::vector<std::string> subdirs;
  std::vector<std::string> marker_files;  ///< a folder holding any of these holds the data set
  const char* how_to_get;
  const char* looking_for;
};

std::string canonical_name(const std::string& name) {
  std::string n;
  for (char c : name) n += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (n == "cifar-10" || n == "cifar_10") return "cifar10";
  if (n == "fashion_mnist" || n == "fashionmnist") return "fashion-mnist";
  return n;
}

const Spec& spec_for(const std::string& name) {
  static const std::vector<std::string> idx = {"train-images-idx3-ubyte.gz", "train-images-idx3-ubyte",
                                               "t10k-images-idx3-ubyte.gz",  "t10k-images-idx3-ubyte",
                                               "train-images.idx3-ubyte",    "t10k-images.idx3-ubyte"};
  static const Spec mnist{
      "MNIST",
      {"mnist", "MNIST"},
      idx,
      "download the four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
      "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) from http://yann.lecun.com/exdb/mnist/ "
      "(mirror: https://ossci-datasets.s3.amazonaws.com/mnist/) into <root>/mnist/",
      "train-images-idx3-ubyte[.gz] or t10k-images-idx3-ubyte[.gz]"};
  static const Spec fashion{"Fashion-MNIST",
                            {"fashion-mnist", "fashion_mnist", "FashionMNIST"},
                            idx,
                            "run `apt-get install dataset-fashion-mnist` (Debian; installs into "
                            "/usr/share/datasets/fashion-mnist/), or download the four .gz files from "
                            "https://github.com/zalandoresearch/fashion-mnist into <root>/fashion-mnist/",
                            "train-images-idx3-ubyte[.gz] or t10k-images-idx3-ubyte[.gz]"};
  static const Spec cifar{"CIFAR-10",
                          {"cifar-10-batches-bin", "cifar-10", "cifar-10/cifar-10-batches-bin", "cifar10"},
                          {"data_batch_1.bin", "test_batch.bin"},
                          "download the binary version https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz and "
                          "unpack it into <root>/ (it creates cifar-10-batches-bin/ with data_batch_1.bin .. "
                          "data_batch_5.bin and test_batch.bin)",
                          "data_batch_1.bin or test_batch.bin"};
  static const Spec iris{"iris",
                         {"iris"},
                         {"iris.csv"},
                         "get Fisher's iris data from https://archive.ics.uci.edu/dataset/53/iris and save it as "
                         "<root>/iris/iris.csv (CSVDataset reads the UCI iris.data rows as they are)",
                         "iris.csv"};
  static const Spec tabular{"tabular",
                            {"tabular"},
                            {"wine_data.csv", "breast_cancer.csv", "diabetes_data_raw.csv.gz"},
                            "save scikit-learn's bundled CSV files (sklearn/datasets/data/wine_data.csv, "
                            "breast_cancer.csv, diabetes_data_raw.csv.gz, diabetes_target.csv.gz; Debian's "
                            "python3-sklearn installs them) into <root>/tabular/",
                            "wine_data.csv, breast_cancer.csv or diabetes_data_raw.csv.gz"};
  if (name == "mnist") return mnist;
  if (name == "fashion-mnist") return fashion;
  if (name == "cifar10") return cifar;
  if (name == "iris") return iris;
  if (name == "tabular") return tabular;
  fail<ValueError>("find_dataset: unknown data set '{}' (known: mnist, fashion-mnist, cifar10, iris, tabular)", name);
}

bool holds(const fs::path& dir, const Spec& s) {
  std::error_code ec;
  return std::any_of(s.marker_files.begin(), s.marker_files.end(),
                     [&](const std::string& f) { return fs::is_regular_file(dir / f, ec); });
}

fs::path executable_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

fs::path normalized(const fs::path& p) {
  std::error_code ec;
  fs::path norm = fs::weakly_canonical(p, ec);
  return ec ? p.lexically_normal() : norm;
}

}  // namespace

namespace {

/// The location given explicitly, by data_dir (an example's --data-dir) or else XGRAD_DATA, if any.
struct Explicit {
  fs::path path;
  std::string source;  ///< how it was given, for messages
};
std::optional<Explicit> explicit_root(const std::string& data_dir) {
  if (!data_dir.empty()) return Explicit{normalized(data_dir), fmt::format("data_dir (--data-dir) '{}'", data_dir)};
  if (const char* env = std::getenv("XGRAD_DATA"); env && *env)
    return Explicit{normalized(env), fmt::format("XGRAD_DATA='{}'", env)};
  return std::nullopt;
}

}  // namespace

std::vector<fs::path> data_search_roots(const std::string& data_dir) {
  // An explicit location replaces the search: used or refused, never skipped for another place.
  if (auto e = explicit_root(data_dir)) return {e->path};
  std::vector<fs::path> roots;
  auto add = [&](const fs::path& p) {
    if (p.empty()) return;
    const fs::path norm = normalized(p);
    if (std::find(roots.begin(), roots.end(), norm) == roots.end()) roots.push_back(norm);
  };
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  if (!ec) add(cwd / ".." / "shared" / "data");
  if (fs::path dir = executable_dir(); !dir.empty()) {
    for (;;) {
      add(dir / ".." / "shared" / "data");
      if (!dir.has_relative_path()) break;  // reached the root
      dir = dir.parent_path();
    }
  }
  add("/usr/share/datasets");
  return roots;
}

fs::path find_dataset(const std::string& name, const std::string& data_dir) {
  const std::string key = canonical_name(name);
  const Spec& s = spec_for(key);
  const std::optional<Explicit> given = explicit_root(data_dir);
  if (given) {
    std::error_code ec;
    if (!fs::exists(given->path, ec))
      fail<IOError>("find_dataset: {} does not exist (a location given explicitly is used or refused, never skipped)",
                    given->source);
    if (!fs::is_directory(given->path, ec)) fail<IOError>("find_dataset: {} is not a directory", given->source);
  }
  std::vector<fs::path> looked;
  for (const fs::path& root : data_search_roots(data_dir)) {
    for (const std::string& sub : s.subdirs) {
      looked.push_back(root / sub);
      if (holds(root / sub, s)) return root / sub;
    }
    // An explicit folder may also be the data set's own folder.
    if (given) {
      looked.push_back(root);
      if (holds(root, s)) return root;
    }
  }
  std::string where;
  for (const auto& p : looked) where += "\n  " + p.string();
  if (given)
    fail<IOError>(
        "find_dataset: {} not found in {} (looking for {}); no other place is searched when a location is given. "
        "Looked in:{}\nTo get it: {}.",
        s.title, given->source, s.looking_for, where, s.how_to_get);
  fail<IOError>(
      "find_dataset: {} not found (looking for {}). Looked in:{}\nTo get it: {}; then pass --data-dir <root> or set "
      "XGRAD_DATA=<root>.",
      s.title, s.looking_for, where, s.how_to_get);
}

}  // namespace xg::data
