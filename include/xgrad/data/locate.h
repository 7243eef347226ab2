#pragma once
/// Finding data sets on disk without hard-coded paths.
#include <filesystem>
#include <string>
#include <vector>

namespace xg::data {

/// The folders searched for data sets. A location given explicitly is the only one: `data_dir`
/// (the value of an example's `--data-dir` flag) when not empty, else the `XGRAD_DATA`
/// environment variable when set. Without one, in order and without duplicates:
///  1. `../shared/data` relative to the current directory, then `<A>/../shared/data` for each
///     ancestor A of the running executable's folder (so a binary deep in a build tree finds
///     the data beside the checkout);
///  2. `/usr/share/datasets` (where Debian's dataset-fashion-mnist installs).
/// Folders that do not exist are included: find_dataset reports them in its error.
std::vector<std::filesystem::path> data_search_roots(const std::string& data_dir = "");

/// The folder holding data set `name` — "mnist", "fashion-mnist", "cifar10" (or "cifar-10"),
/// "iris" or "tabular" (scikit-learn's small CSV files: wine, breast cancer, diabetes) — under the first root of
/// data_search_roots(data_dir) that has it: in the subfolder `mnist/`, `fashion-mnist/`, `cifar-10-batches-bin/` (also
/// `cifar-10/` and `cifar-10/cifar-10-batches-bin/`), `iris/` or `tabular/`, or directly in an explicit `data_dir` or
/// `XGRAD_DATA` folder. A folder counts only when it holds the data set's files (IDX images,
/// `data_batch_1.bin`/`test_batch.bin`, `iris.csv`). An explicit location is used or refused,
/// never skipped: when it does not exist, or lacks the data set, that is the error, even if
/// another place has the data. Throws IOError listing every place looked at and where to
/// download the data; an unknown name throws ValueError.
std::filesystem::path find_dataset(const std::string& name, const std::string& data_dir = "");

}  // namespace xg::data
