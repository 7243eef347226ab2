#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tests/test_util.h"
#include "xgrad/data.h"
#include "xgrad/xgrad.h"

using namespace xg;
using namespace xg::data;
namespace fs = std::filesystem;
using namespace xgtest;

namespace {

using Bytes = std::vector<uint8_t>;

void write_file(const fs::path& p, const Bytes& b) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

Bytes read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

Bytes gzip(const Bytes& in) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  zs.next_in = const_cast<Bytes::value_type*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

void put_be32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

Bytes idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims, const Bytes& data) {
  Bytes b;
  put_be32(b, magic);
  for (uint32_t d : dims) put_be32(b, d);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

/// n images of h x w with pixel (i, k) = (i * 31 + k * 7) % 256, labels i % 10.
struct TinyMnist {
  int n = 5, h = 4, w = 3;
  Bytes pixels, labels;
  TinyMnist(int n_ = 5) : n(n_) {
    for (int i = 0; i < n; ++i) {
      for (int k = 0; k < h * w; ++k) pixels.push_back(static_cast<uint8_t>((i * 31 + k * 7) % 256));
      labels.push_back(static_cast<uint8_t>(i % 10));
    }
  }
  Bytes images_file() const { return idx_bytes(0x803, {uint32_t(n), uint32_t(h), uint32_t(w)}, pixels); }
  Bytes labels_file() const { return idx_bytes(0x801, {uint32_t(n)}, labels); }
  /// Train split raw, test split gzip-compressed: both code paths in one folder.
  void write(const fs::path& dir) const {
    write_file(dir / "train-images-idx3-ubyte", images_file());
    write_file(dir / "train-labels-idx1-ubyte", labels_file());
    write_file(dir / "t10k-images-idx3-ubyte.gz", gzip(images_file()));
    write_file(dir / "t10k-labels-idx1-ubyte.gz", gzip(labels_file()));
  }
};

/// Runs f, expecting an IOError whose message contains every one of `parts`.
template <class F>
void expect_io_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected an IOError";
  } catch (const IOError& e) {
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(DataMNIST, LoadsRawAndGzipSplits) {
  TempDir t;
  TinyMnist m;
  m.write(t.path);
  for (Split split : {Split::Train, Split::Test}) {
    MNIST ds(t.path, split);
    ASSERT_EQ(ds.size(), 5);
    EXPECT_EQ(ds.image_shape(), (Shape{1, 4, 3}));
    EXPECT_EQ(ds.class_names().size(), 10u);
    Batch b = ds.get_batch({3, 0});
    EXPECT_EQ(b.inputs.shape(), (Shape{2, 1, 4, 3}));
    EXPECT_EQ(b.inputs.dtype(), kFloat32);
    EXPECT_EQ(b.targets.dtype(), kInt64);
    EXPECT_EQ(b.targets.to_vector<int64_t>(), (std::vector<int64_t>{3, 0}));
    const auto v = b.inputs.to_vector<float>();
    for (int k = 0; k < 12; ++k) {
      EXPECT_FLOAT_EQ(v[static_cast<size_t>(k)],
                      static_cast<float>(m.pixels[static_cast<size_t>(3 * 12 + k)]) / 255.0f);
      EXPECT_FLOAT_EQ(v[static_cast<size_t>(12 + k)], static_cast<float>(m.pixels[static_cast<size_t>(k)]) / 255.0f);
    }
  }
  MNIST raw(t.path, Split::Test, {.scale = false, .flatten = true});
  Batch b = raw.get_batch({4});
  EXPECT_EQ(b.inputs.shape(), (Shape{1, 12}));
  EXPECT_EQ(b.inputs.at({0, 5}), static_cast<double>(m.pixels[4 * 12 + 5]));
  Example e = raw.get(2);
  EXPECT_EQ(e.input.shape(), (Shape{12}));
  EXPECT_EQ(e.target.item<int64_t>(), 2);
  EXPECT_EQ(raw.targets().to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_THROW(raw.get(5), IndexError);
  EXPECT_THROW(raw.get_batch({0, -1}), IndexError);
}

TEST(DataMNIST, FashionMNISTAndDotSpelling) {
  TempDir t;
  TinyMnist m(3);
  // The `train-images.idx3-ubyte` spelling some mirrors use.
  write_file(t.path / "train-images.idx3-ubyte.gz", gzip(m.images_file()));
  write_file(t.path / "train-labels.idx1-ubyte", m.labels_file());
  FashionMNIST ds(t.path, Split::Train);
  EXPECT_EQ(ds.size(), 3);
  EXPECT_EQ(ds.class_names()[9], "Ankle boot");
  expect_io_error([&] { FashionMNIST(t.path, Split::Test); }, {"t10k-images-idx3-ubyte", "not found"});
}

TEST(DataMNIST, MalformedFilesNameTheFileAndProblem) {
  TinyMnist m;
  auto with = [&](const std::string& file, const Bytes& content) {
    auto t = std::make_unique<TempDir>();
    m.write(t->path);
    fs::remove(t->path / (file + ".gz"));
    fs::remove(t->path / file);
    write_file(t->path / file, content);
    return t;
  };
  {
    auto t = with("train-images-idx3-ubyte", idx_bytes(0x801, {5, 4, 3}, m.pixels));
    expect_io_error([&] { MNIST(t->path); }, {"train-images-idx3-ubyte", "bad magic number 0x00000801"});
  }
  {
    auto t = with("train-labels-idx1-ubyte", idx_bytes(0x801, {4}, Bytes(m.labels.begin(), m.labels.end() - 1)));
    expect_io_error([&] { MNIST(t->path); }, {"5 images", "4 labels", "train-labels-idx1-ubyte"});
  }
  {
    Bytes b = m.images_file();
    b.pop_back();
    auto t = with("train-images-idx3-ubyte", b);
    expect_io_error([&] { MNIST(t->path); }, {"train-images-idx3-ubyte", "truncated", "59"});
  }
  {
    Bytes b = m.images_file();
    b.push_back(0);
    auto t = with("train-images-idx3-ubyte", b);
    expect_io_error([&] { MNIST(t->path); }, {"train-images-idx3-ubyte", "extra bytes"});
  }
  {
    auto t = with("train-images-idx3-ubyte", Bytes{0, 0, 8});
    expect_io_error([&] { MNIST(t->path); }, {"train-images-idx3-ubyte", "truncated"});
  }
  {
    Bytes lab = m.labels;
    lab[2] = 10;
    auto t = with("train-labels-idx1-ubyte", idx_bytes(0x801, {5}, lab));
    expect_io_error([&] { MNIST(t->path); }, {"train-labels-idx1-ubyte", "label 10 at index 2"});
  }
  {
    // A gzip file cut short.
    TempDir t;
    m.write(t.path);
    Bytes gz = read_file(t.path / "t10k-images-idx3-ubyte.gz");
    gz.resize(gz.size() / 2);
    write_file(t.path / "t10k-images-idx3-ubyte.gz", gz);
    expect_io_error([&] { MNIST(t.path, Split::Test); }, {"t10k-images-idx3-ubyte.gz", "truncated gzip"});
  }
  {
    // Corrupt compressed bytes (header kept, so it is still recognised as gzip).
    TempDir t;
    m.write(t.path);
    Bytes gz = read_file(t.path / "t10k-images-idx3-ubyte.gz");
    for (size_t k = 10; k < gz.size() - 8; ++k) gz[k] = static_cast<uint8_t>(gz[k] ^ 0x5a);
    write_file(t.path / "t10k-images-idx3-ubyte.gz", gz);
    expect_io_error([&] { MNIST(t.path, Split::Test); }, {"t10k-images-idx3-ubyte.gz", "corrupt gzip"});
  }
  {
    // A damaged CRC in the trailer: the data inflates but the check fails.
    TempDir t;
    m.write(t.path);
    Bytes gz = read_file(t.path / "t10k-labels-idx1-ubyte.gz");
    gz[gz.size() - 6] ^= 0xff;
    write_file(t.path / "t10k-labels-idx1-ubyte.gz", gz);
    expect_io_error([&] { MNIST(t.path, Split::Test); }, {"t10k-labels-idx1-ubyte.gz", "corrupt gzip"});
  }
  {
    TempDir t;
    expect_io_error([&] { MNIST(t.path); }, {"train-images-idx3-ubyte", "not found"});
  }
}

TEST(DataMNIST, ReadMaybeGzipConcatenatedMembers) {
  TempDir t;
  Bytes a{1, 2, 3}, b{4, 5};
  Bytes gz = gzip(a);
  Bytes gz2 = gzip(b);
  gz.insert(gz.end(), gz2.begin(), gz2.end());
  write_file(t.path / "x.gz", gz);
  EXPECT_EQ(read_maybe_gzip(t.path / "x.gz"), (Bytes{1, 2, 3, 4, 5}));
  gz.push_back(7);  // garbage after the last member
  write_file(t.path / "y.gz", gz);
  expect_io_error([&] { read_maybe_gzip(t.path / "y.gz"); }, {"y.gz", "corrupt gzip"});
  write_file(t.path / "empty.bin", {});
  EXPECT_TRUE(read_maybe_gzip(t.path / "empty.bin").empty());
  expect_io_error([&] { read_maybe_gzip(t.path); }, {"is a directory"});
}

namespace {
/// A CIFAR-10 record: label, then each channel's 1024 bytes with pixel value (seed + c*3 + k) % 256.
Bytes cifar_record(uint8_t label, int seed) {
  Bytes r{label};
  for (int c = 0; c < 3; ++c)
    for (int k = 0; k < 1024; ++k) r.push_back(static_cast<uint8_t>((seed + c * 3 + k) % 256));
  return r;
}
void write_cifar(const fs::path& dir, const std::vector<int>& train_counts, int test_count) {
  int seed = 0;
  for (size_t f = 0; f < train_counts.size(); ++f) {
    Bytes b;
    for (int i = 0; i < train_counts[f]; ++i, ++seed) {
      Bytes r = cifar_record(static_cast<uint8_t>(seed % 10), seed);
      b.insert(b.end(), r.begin(), r.end());
    }
    write_file(dir / ("data_batch_" + std::to_string(f + 1) + ".bin"), b);
  }
  Bytes b;
  for (int i = 0; i < test_count; ++i) {
    Bytes r = cifar_record(static_cast<uint8_t>(9 - i % 10), 100 + i);
    b.insert(b.end(), r.begin(), r.end());
  }
  write_file(dir / "test_batch.bin", b);
}
}  // namespace

TEST(DataCIFAR10, LoadsTheBinaryBatches) {
  TempDir t;
  write_cifar(t.path, {2, 1, 3, 1, 2}, 4);
  CIFAR10 train(t.path, Split::Train);
  ASSERT_EQ(train.size(), 9);
  EXPECT_EQ(train.class_names()[0], "airplane");
  Batch b = train.get_batch({7});
  EXPECT_EQ(b.inputs.shape(), (Shape{1, 3, 32, 32}));
  EXPECT_EQ(b.targets.item<int64_t>(), 7);
  // Channel-major layout: [c, h, w] = byte 1 + c*1024 + h*32 + w of the record.
  EXPECT_FLOAT_EQ(static_cast<float>(b.inputs.at({0, 2, 1, 5})), static_cast<float>((7 + 6 + 37) % 256) / 255.0f);
  EXPECT_FLOAT_EQ(static_cast<float>(b.inputs.at({0, 0, 31, 31})), static_cast<float>((7 + 1023) % 256) / 255.0f);
  CIFAR10 test(t.path, Split::Test, {.scale = false});
  ASSERT_EQ(test.size(), 4);
  EXPECT_EQ(test.targets().to_vector<int64_t>(), (std::vector<int64_t>{9, 8, 7, 6}));
  EXPECT_EQ(test.get(1).input.at({1, 0, 0}), static_cast<double>((101 + 3) % 256));
}

TEST(DataCIFAR10, MalformedBatches) {
  {
    TempDir t;
    write_cifar(t.path, {1, 1, 1, 1, 1}, 2);
    Bytes b = read_file(t.path / "test_batch.bin");
    b.erase(b.end() - 100, b.end());  // (resize would trip GCC -Warray-bounds under ASan)
    write_file(t.path / "test_batch.bin", b);
    expect_io_error([&] { CIFAR10(t.path, Split::Test); }, {"test_batch.bin", "3073-byte records", "6046 bytes"});
  }
  {
    TempDir t;
    write_cifar(t.path, {1, 1, 1, 1, 1}, 2);
    Bytes b = read_file(t.path / "data_batch_4.bin");
    b[0] = 42;
    write_file(t.path / "data_batch_4.bin", b);
    expect_io_error([&] { CIFAR10(t.path, Split::Train); }, {"data_batch_4.bin", "record 0 has label 42"});
  }
  {
    TempDir t;
    write_cifar(t.path, {1, 1, 1, 1, 1}, 2);
    fs::remove(t.path / "data_batch_3.bin");
    expect_io_error([&] { CIFAR10(t.path, Split::Train); }, {"data_batch_3.bin", "not found"});
    write_file(t.path / "data_batch_3.bin", {});
    expect_io_error([&] { CIFAR10(t.path, Split::Train); }, {"data_batch_3.bin", "0 bytes"});
  }
}

TEST(DataCSV, IrisCountsHeader) {
  TempDir t;
  auto f = write_text(t.path / "iris.csv",
                      "4,2,setosa,versicolor,virginica\n5.1,3.5,0\n4.9,3.0,1\r\n6.2,2.8,2\n5.0,3.6,0\n\n");
  CSVDataset ds(f);
  ASSERT_EQ(ds.size(), 4);
  EXPECT_EQ(ds.num_features(), 2);
  EXPECT_EQ(ds.num_classes(), 3);
  EXPECT_EQ(ds.class_names(), (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
  EXPECT_EQ(ds.targets().to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 0}));
  Batch b = ds.get_batch({2});
  EXPECT_EQ(b.inputs.shape(), (Shape{1, 2}));
  EXPECT_FLOAT_EQ(static_cast<float>(b.inputs.at({0, 0})), 6.2f);
  EXPECT_FLOAT_EQ(static_cast<float>(b.inputs.at({0, 1})), 2.8f);

  auto short_file = write_text(t.path / "short.csv", "3,2,a,b\n1,2,0\n3,4,1\n");
  expect_io_error([&] { CSVDataset{short_file}; }, {"short.csv", "promises 3 rows", "has 2"});
  auto bad_label = write_text(t.path / "bl.csv", "2,2,a,b\n1,2,0\n3,4,2\n");
  expect_io_error([&] { CSVDataset{bad_label}; }, {"bl.csv", "line 3, column 3", "names 2 classes"});
}

TEST(DataCSV, NamesHeaderStringLabelsAndRegression) {
  TempDir t;
  auto f =
      write_text(t.path / "named.csv", "\"sepal length\", label, width\n1.5, cat, 2\n-2, dog, 3e1\n+0.5, cat, 4\n");
  CSVDataset ds(f, {.label_name = "label"});
  EXPECT_EQ(ds.feature_names(), (std::vector<std::string>{"sepal length", "width"}));
  EXPECT_EQ(ds.class_names(), (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(ds.targets().to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 0}));
  EXPECT_EQ(ds.features().to_vector<float>(), (std::vector<float>{1.5f, 2, -2, 30, 0.5f, 4}));
  EXPECT_THROW(CSVDataset(f, {.label_name = "nope"}), ValueError);

  // UCI's iris.data: no header, string labels in the last column.
  auto uci = write_text(t.path / "iris.data", "5.1,3.5,Iris-virginica\n4.9,3.0,Iris-setosa\n");
  CSVDataset u(uci);
  EXPECT_EQ(u.size(), 2);
  EXPECT_EQ(u.class_names(), (std::vector<std::string>{"Iris-setosa", "Iris-virginica"}));
  EXPECT_EQ(u.targets().to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));

  auto reg = write_text(t.path / "reg.csv", "x,y\n1,0.5\n2,1.5\n");
  CSVDataset r(reg, {.classification = false});
  EXPECT_EQ(r.targets().shape(), (Shape{2, 1}));
  EXPECT_EQ(r.targets().dtype(), kFloat32);
  EXPECT_FLOAT_EQ(static_cast<float>(r.targets().at({1, 0})), 1.5f);
  EXPECT_EQ(r.num_classes(), 0);

  // No header, first column as label, semicolons; an all-numeric first line is data.
  auto semi = write_text(t.path / "semi.csv", "1;0.5;7\n0;1.5;8\n");
  CSVDataset s(semi, {.label_column = 0, .delimiter = ';'});
  EXPECT_EQ(s.size(), 2);
  EXPECT_EQ(s.targets().to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(s.num_classes(), 2);
  // Forcing a names header on the same file takes the first line as names.
  CSVDataset forced(semi, {.label_column = 0, .delimiter = ';', .header = CSVHeader::Names});
  EXPECT_EQ(forced.size(), 1);
}

TEST(DataCSV, BadCellsNameRowAndColumn) {
  TempDir t;
  expect_io_error([&] { CSVDataset(write_text(t.path / "a.csv", "a,b,label\n1,2,0\n3,x4,1\n")); },
                  {"a.csv", "line 3, column 2", "('b')", "'x4'"});
  expect_io_error([&] { CSVDataset(write_text(t.path / "b.csv", "1,2,0\n3,,1\n")); },
                  {"b.csv", "line 2, column 2", "empty cell"});
  expect_io_error([&] { CSVDataset(write_text(t.path / "c.csv", "1,2,0\n3,4\n")); },
                  {"c.csv", "line 2 has 2 columns, expected 3"});
  expect_io_error([&] { CSVDataset(write_text(t.path / "d.csv", "1,2,0\n3,4,1.5\n")); },
                  {"d.csv", "line 2, column 3", "'1.5'"});
  expect_io_error([&] { CSVDataset(write_text(t.path / "e.csv", "1,2,0\n3,4,-1\n")); },
                  {"e.csv", "not a non-negative integer"});
  expect_io_error([&] { CSVDataset(write_text(t.path / "f.csv", "\n  \n")); }, {"f.csv", "empty"});
  expect_io_error([&] { CSVDataset(write_text(t.path / "g.csv", "a,b\n")); }, {"g.csv", "no data rows"});
  expect_io_error([&] { CSVDataset(t.path / "missing.csv"); }, {"missing.csv", "not found"});
}

TEST(DataTensorDataset, GathersRowsOfAnyDtype) {
  Tensor x = arange(0.0, 12.0, 1.0, kFloat64).reshape({6, 2});
  Tensor y = arange(6);
  auto ds = std::make_shared<TensorDataset>(x, y);
  EXPECT_EQ(ds->size(), 6);
  Batch b = ds->get_batch({5, 1});
  EXPECT_EQ(b.inputs.to_vector<double>(), (std::vector<double>{10, 11, 2, 3}));
  EXPECT_EQ(b.targets.to_vector<int64_t>(), (std::vector<int64_t>{5, 1}));
  // A non-contiguous input is made contiguous once.
  TensorDataset tr(x.t().contiguous().t(), y);
  EXPECT_EQ(tr.get(3).input.to_vector<double>(), (std::vector<double>{6, 7}));
  EXPECT_THROW(TensorDataset(x, arange(5)), ShapeError);
  EXPECT_THROW(ds->get_batch({6}), IndexError);

  Subset sub(ds, {4, 2});
  EXPECT_EQ(sub.size(), 2);
  EXPECT_EQ(sub.get_batch({1, 0}).targets.to_vector<int64_t>(), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(sub.targets().to_vector<int64_t>(), (std::vector<int64_t>{4, 2}));  // the default chunked gather
  EXPECT_THROW(sub.get_batch({2}), IndexError);
  EXPECT_THROW(Subset(ds, {7}), IndexError);
}

namespace {
/// Sets or clears XGRAD_DATA for a scope, restoring the previous value.
struct ScopedDataEnv {
  std::string old;
  bool had;
  explicit ScopedDataEnv(const char* value) {
    const char* o = std::getenv("XGRAD_DATA");
    had = o != nullptr;
    if (had) old = o;
    if (value)
      setenv("XGRAD_DATA", value, 1);
    else
      unsetenv("XGRAD_DATA");
  }
  ~ScopedDataEnv() {
    if (had)
      setenv("XGRAD_DATA", old.c_str(), 1);
    else
      unsetenv("XGRAD_DATA");
  }
};
}  // namespace

TEST(DataLocate, SearchOrderAndSubfolders) {
  TempDir a, b;
  TinyMnist().write(a.path / "mnist");
  TinyMnist().write(b.path / "fashion-mnist");
  write_cifar(b.path / "cifar-10-batches-bin", {1, 1, 1, 1, 1}, 1);
  write_text(b.path / "iris" / "iris.csv", "1,1,a\n1,0\n");
  {
    ScopedDataEnv env(b.path.c_str());
    // An explicit location is the only place searched: the flag first, else XGRAD_DATA.
    EXPECT_EQ(data_search_roots(a.path.string()), std::vector<fs::path>{fs::weakly_canonical(a.path)});
    EXPECT_EQ(data_search_roots(), std::vector<fs::path>{fs::weakly_canonical(b.path)});
    EXPECT_EQ(find_dataset("mnist", a.path.string()), fs::weakly_canonical(a.path) / "mnist");
    EXPECT_THROW(find_dataset("FashionMNIST", a.path.string()), IOError);  // not taken from XGRAD_DATA
    EXPECT_EQ(find_dataset("FashionMNIST"), fs::weakly_canonical(b.path) / "fashion-mnist");
    EXPECT_EQ(find_dataset("cifar-10"), fs::weakly_canonical(b.path) / "cifar-10-batches-bin");
    EXPECT_EQ(find_dataset("iris"), fs::weakly_canonical(b.path) / "iris");
    // The explicit folder may be the data set's own folder.
    EXPECT_EQ(find_dataset("mnist", (a.path / "mnist").string()), fs::weakly_canonical(a.path / "mnist"));
    EXPECT_THROW(find_dataset("imagenet"), ValueError);
  }
  ScopedDataEnv env(nullptr);
  const auto roots = data_search_roots();
  ASSERT_GE(roots.size(), 2u);
  EXPECT_EQ(roots.back(), fs::path("/usr/share/datasets"));
  // Not found in an explicit folder: that folder is named, and nothing else was searched.
  try {
    find_dataset("cifar10", a.path.string());
    ADD_FAILURE() << "no error";
  } catch (const IOError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find((fs::weakly_canonical(a.path) / "cifar-10-batches-bin").string()), std::string::npos) << msg;
    EXPECT_EQ(msg.find("/usr/share/datasets"), std::string::npos) << msg;
    EXPECT_NE(msg.find("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"), std::string::npos) << msg;
  }
  // CIFAR-10 in binary form is nowhere on the standard roots unless someone put it there.
  try {
    const fs::path p = find_dataset("cifar10");
    GTEST_SKIP() << "CIFAR-10 binary batches installed at " << p << "; cannot test the not-found message";
  } catch (const IOError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("/usr/share/datasets"), std::string::npos) << msg;
    EXPECT_NE(msg.find("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"), std::string::npos) << msg;
    EXPECT_NE(msg.find("XGRAD_DATA"), std::string::npos) << msg;
  }
}

TEST(DataLocate, ExplicitLocationIsUsedOrRefused) {
  TempDir elsewhere;
  write_text(elsewhere.path / "iris" / "iris.csv", "1,1,a\n1,0\n");
  const fs::path missing = elsewhere.path / "no-such-folder";
  {
    // A --data-dir that does not exist was skipped, and XGRAD_DATA (or ../shared/data) used.
    ScopedDataEnv env(elsewhere.path.c_str());
    const std::string msg = error_of<IOError>([&] { find_dataset("iris", missing.string()); });
    EXPECT_TRUE(has(msg, "no-such-folder")) << msg;
    EXPECT_TRUE(has(msg, "does not exist")) << msg;
    // An existing --data-dir without the data set is not skipped either.
    TempDir empty_dir;
    const std::string msg2 = error_of<IOError>([&] { find_dataset("iris", empty_dir.path.string()); });
    EXPECT_TRUE(has(msg2, empty_dir.path.string())) << msg2;
    EXPECT_FALSE(has(msg2, elsewhere.path.string() + "/iris\n")) << msg2;
  }
  {
    // The same for XGRAD_DATA.
    ScopedDataEnv env(missing.c_str());
    const std::string msg = error_of<IOError>([&] { find_dataset("iris"); });
    EXPECT_TRUE(has(msg, "XGRAD_DATA")) << msg;
    EXPECT_TRUE(has(msg, "does not exist")) << msg;
    // The flag still wins over the variable.
    EXPECT_EQ(find_dataset("iris", elsewhere.path.string()), fs::weakly_canonical(elsewhere.path) / "iris");
  }
}

TEST(DataMNIST, RealMnistFromShared) {
  fs::path dir;
  if (const char* shared = std::getenv("XGRAD_SHARED"); shared && fs::exists(fs::path(shared) / "data" / "mnist"))
    dir = fs::path(shared) / "data" / "mnist";
  else
    try {
      dir = find_dataset("mnist");
    } catch (const IOError&) {
      GTEST_SKIP() << "MNIST not found (set XGRAD_SHARED or XGRAD_DATA)";
    }
  const auto t0 = std::chrono::steady_clock::now();
  MNIST train(dir, Split::Train);
  MNIST test(dir, Split::Test);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  RecordProperty("load_seconds", std::to_string(secs));
  ASSERT_EQ(train.size(), 60000);
  ASSERT_EQ(test.size(), 10000);
  EXPECT_EQ(train.image_shape(), (Shape{1, 28, 28}));
  // Pixels stay bytes: 47 MB plus the 16-byte header, not 188 MB of floats.
  EXPECT_EQ(train.pixels().size(), 60000u * 784u + 16u);
  std::vector<int64_t> train_counts(10), test_counts(10);
  for (uint8_t l : train.labels()) ++train_counts[l];
  for (uint8_t l : test.labels()) ++test_counts[l];
  EXPECT_EQ(train_counts, (std::vector<int64_t>{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}));
  EXPECT_EQ(test_counts, (std::vector<int64_t>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}));
  EXPECT_EQ(train.get(0).target.item<int64_t>(), 5);  // the famous first digit
  EXPECT_EQ(test.get(0).target.item<int64_t>(), 7);
  const Tensor x = train.get_batch({0, 1, 2}).inputs;
  const auto v = x.to_vector<float>();
  EXPECT_GE(*std::min_element(v.begin(), v.end()), 0.0f);
  EXPECT_LE(*std::max_element(v.begin(), v.end()), 1.0f);
  EXPECT_FLOAT_EQ(*std::max_element(v.begin(), v.end()), 1.0f);
}
