#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "tests/test_util.h"
#include "xgrad/xgrad.h"

using namespace xg;
namespace fs = std::filesystem;
using namespace xgtest;

namespace {

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

template <class T>
std::string raw(const std::vector<T>& v) {
  std::string s(v.size() * sizeof(T), '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return s;
}

/// A safetensors file as another writer would lay it out: length, header, data.
std::string st_file(std::string header, const std::string& data, bool pad = true) {
  if (pad) header.append((8 - header.size() % 8) % 8, ' ');
  return le64(header.size()) + header + data;
}

/// The IOError message of loading these bytes (empty when it loads).
std::string load_error(const TempDir& dir, const std::string& bytes) {
  const std::string path = dir.file("bad.safetensors");
  write_text(path, bytes);
  try {
    nn::load_safetensors(path);
  } catch (const IOError& e) {
    return e.what();
  }
  return "";
}

struct Model : nn::Module {
  std::shared_ptr<nn::Linear> fc;
  std::shared_ptr<nn::BatchNorm1d> bn;
  Model() {
    fc = register_module("fc", std::make_shared<nn::Linear>(3, 2));
    bn = register_module("bn", std::make_shared<nn::BatchNorm1d>(2));
  }
  Tensor forward(const Tensor& x) override { return (*bn)((*fc)(x)); }
};

bool same_state(const nn::Module& a, const nn::Module& b) {
  const auto sa = a.state_dict(), sb = b.state_dict();
  if (sa.keys() != sb.keys()) return false;
  for (const auto& [k, t] : sa)
    if (t.dtype() != sb[k].dtype() || !equal(t, sb[k])) return false;
  return true;
}

}  // namespace

TEST(NnSerialize, StateDictRoundTrip) {
  manual_seed(1);
  Model a, b;
  a(randn({4, 3}));  // moves the batch-norm statistics away from their initial values
  EXPECT_FALSE(same_state(a, b));
  const auto sd = a.state_dict();
  EXPECT_EQ(sd.keys(), (std::vector<std::string>{"fc.weight", "fc.bias", "bn.weight", "bn.bias", "bn.running_mean",
                                                 "bn.running_var", "bn.num_batches_tracked"}));
  EXPECT_FALSE(sd["fc.weight"].requires_grad());
  EXPECT_EQ(sd["bn.num_batches_tracked"].dtype(), kInt64);
  EXPECT_EQ(sd["bn.num_batches_tracked"].dim(), 0);
  const auto res = b.load_state_dict(sd);
  EXPECT_TRUE(res.missing_keys.empty() && res.unexpected_keys.empty());
  EXPECT_TRUE(same_state(a, b));
  // Loading copies: the two models do not share storage afterwards.
  Tensor w = b.fc->weight();
  {
    NoGradGuard ng;
    a.fc->weight().add_(1.0);
  }
  EXPECT_FALSE(equal(w, a.fc->weight()));
  EXPECT_TRUE(b.fc->weight().requires_grad());
  EXPECT_TRUE(w.is_same(b.fc->weight()));
}

TEST(NnSerialize, FloatingStateConvertsToTheModulesDtype) {
  Model a, b;
  auto sd = a.state_dict();
  for (auto& [k, t] : sd)
    if (is_floating(t.dtype())) sd.insert_or_assign(k, t.to(kFloat64) + 1e-12);
  b.load_state_dict(sd);
  EXPECT_EQ(b.fc->weight().dtype(), kFloat32);
  EXPECT_TRUE(equal(b.fc->weight(), (a.fc->weight().to(kFloat64) + 1e-12).to(kFloat32)));
}

TEST(NnSerialize, StrictErrorsListEveryProblemAndChangeNothing) {
  Model a;
  auto sd = a.state_dict();
  sd.erase("fc.bias");
  sd.erase("bn.running_var");
  sd.insert("extra.weight", zeros({1}));
  sd.insert_or_assign("fc.weight", zeros({3, 2}));
  sd.insert_or_assign("bn.weight", zeros({2}, kInt64));
  const Tensor before = a.bn->bias().clone();
  sd.insert_or_assign("bn.bias", before + 1.0);
  std::string msg;
  try {
    a.load_state_dict(sd);
  } catch (const ValueError& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("5 problems"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing key 'fc.bias'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing key 'bn.running_var'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unexpected key 'extra.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'fc.weight': shape [2, 3] in the module but [3, 2] in the dict"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'bn.weight': dtype float32 in the module but int64 in the dict"), std::string::npos) << msg;
  EXPECT_TRUE(equal(a.bn->bias(), before));  // nothing was loaded

  // Non-strict: missing and unexpected keys are reported, not errors; mismatches still are.
  Model b;
  auto partial = b.state_dict();
  partial.erase("fc.bias");
  partial.insert("extra", zeros({1}));
  partial.insert_or_assign("bn.bias", ones({2}));
  const auto res = a.load_state_dict(partial, /*strict=*/false);
  EXPECT_EQ(res.missing_keys, (std::vector<std::string>{"fc.bias"}));
  EXPECT_EQ(res.unexpected_keys, (std::vector<std::string>{"extra"}));
  EXPECT_TRUE(equal(a.bn->bias(), ones({2})));
  EXPECT_TRUE(equal(a.fc->weight(), b.fc->weight()));
  partial.insert_or_assign("fc.weight", zeros({1}));
  EXPECT_THROW(a.load_state_dict(partial, false), ValueError);
}

TEST(NnSerialize, SaveLoadModuleAndFileLayout) {
  TempDir dir("saveload");
  manual_seed(2);
  Model a, b;
  a(randn({5, 3}));
  const std::string path = dir.file("model.safetensors");
  a.save(path, {{"format", "pt"}, {"epoch", "3"}});
  EXPECT_EQ(dir.listing(), (std::vector<std::string>{"model.safetensors"}));  // no temporary left behind
  b.load(path);
  EXPECT_TRUE(same_state(a, b));
  const auto file = nn::read_safetensors(path);
  EXPECT_EQ(file.metadata, (std::map<std::string, std::string>{{"epoch", "3"}, {"format", "pt"}}));
  EXPECT_EQ(file.tensors.keys(), a.state_dict().keys());

  // The bytes follow the format: LE length, space-padded JSON, contiguous data in order.
  const std::string bytes = read_text(path);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i)
    n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[static_cast<size_t>(i)])) << (8 * i);
  EXPECT_EQ((8 + n) % 8, 0u);
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  EXPECT_EQ(header["__metadata__"]["epoch"], "3");
  EXPECT_EQ(header["fc.weight"]["dtype"], "F32");
  EXPECT_EQ(header["fc.weight"]["shape"], nlohmann::json::array({2, 3}));
  EXPECT_EQ(header["fc.weight"]["data_offsets"], nlohmann::json::array({0, 24}));
  EXPECT_EQ(header["fc.bias"]["data_offsets"], nlohmann::json::array({24, 32}));
  EXPECT_EQ(header["bn.num_batches_tracked"]["dtype"], "I64");
  EXPECT_EQ(header["bn.num_batches_tracked"]["shape"], nlohmann::json::array());
  const uint64_t data_size = bytes.size() - 8 - n;
  EXPECT_EQ(header["bn.num_batches_tracked"]["data_offsets"][1].get<uint64_t>(), data_size);
  float w0 = 0;
  std::memcpy(&w0, bytes.data() + 8 + n, 4);
  EXPECT_EQ(w0, a.fc->weight().at({0, 0}));

  // Overwriting an existing file works and still leaves one file; loading a mismatch is an error.
  a.save(path);
  EXPECT_EQ(dir.listing(), (std::vector<std::string>{"model.safetensors"}));
  nn::Linear other(3, 3);
  EXPECT_THROW(other.load(path), ValueError);
  EXPECT_NO_THROW(a.fc->load(dir.file("model.safetensors"), /*strict=*/false));
}

TEST(NnSerialize, AllDtypesAndNonContiguousTensors) {
  TempDir dir("dtypes");
  nn::StateDict d;
  d.insert("f32", arange(0.0, 6.0, 1.0, kFloat32).reshape({2, 3}).t());  // a transposed view
  d.insert("f64", tensor({1.5, -2.25}, {2}, kFloat64));
  d.insert("i64", from_vector(std::vector<int64_t>{-7, 1LL << 40}, {2}));
  d.insert("b", from_vector(std::vector<bool>{true, false, true}, {3}));
  d.insert("empty", zeros({0, 4}));
  d.insert("s", scalar(3.0));
  const std::string path = dir.file("t.safetensors");
  nn::save_safetensors(d, path);
  const auto back = nn::load_safetensors(path);
  ASSERT_EQ(back.keys(), d.keys());
  for (const auto& [k, t] : d) {
    EXPECT_EQ(back[k].dtype(), t.dtype()) << k;
    EXPECT_EQ(back[k].shape(), t.shape()) << k;
    EXPECT_TRUE(equal(back[k], t)) << k;
  }
  EXPECT_THROW(nn::save_safetensors({{"__metadata__", zeros({1})}}, dir.file("m.safetensors")), IOError);
}

TEST(NnSerialize, ReadsAFileFromAnotherWriter) {
  TempDir dir("foreign");
  // Header keys out of data order (as the reference writer sorts them), metadata, padding.
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"b.ids":{"dtype":"I64","shape":[2],"data_offsets":[24,40]},)"
      R"("a.w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
      R"("c.mask":{"dtype":"BOOL","shape":[3],"data_offsets":[40,43]},)"
      R"("d.x":{"dtype":"F64","shape":[],"data_offsets":[43,51]}})";
  const std::string data = raw(std::vector<float>{1, 2, 3, 4, 5, 6}) + raw(std::vector<int64_t>{7, -8}) +
                           std::string("\x01\x00\x01", 3) + raw(std::vector<double>{0.125});
  const std::string path = dir.file("foreign.safetensors");
  write_text(path, st_file(header, data));
  const auto f = nn::read_safetensors(path);
  EXPECT_EQ(f.metadata.at("format"), "pt");
  EXPECT_EQ(f.tensors.keys(), (std::vector<std::string>{"a.w", "b.ids", "c.mask", "d.x"}));
  EXPECT_EQ(f.tensors["a.w"].shape(), (Shape{2, 3}));
  EXPECT_EQ(f.tensors["a.w"].to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(f.tensors["b.ids"].to_vector<int64_t>(), (std::vector<int64_t>{7, -8}));
  EXPECT_EQ(f.tensors["c.mask"].dtype(), kBool);
  EXPECT_EQ(f.tensors["c.mask"].to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(f.tensors["d.x"].dim(), 0);
  EXPECT_EQ(f.tensors["d.x"].item(), 0.125);
  // Unpadded headers are valid too.
  write_text(path,
             st_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", raw(std::vector<float>{9}), false));
  EXPECT_EQ(nn::load_safetensors(path)["x"].item(), 9.0);
  // A PyTorch-named Linear loads into a Linear.
  write_text(path, st_file(R"({"weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},)"
                           R"("bias":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                           raw(std::vector<float>{0.5, -1, 2})));
  nn::Linear lin(2, 1);
  lin.load(path);
  EXPECT_EQ(lin(tensor({2.0f, 1.0f}, {1, 2})).item(), 2.0);
}

TEST(NnSerialize, CorruptFilesAreIOErrors) {
  TempDir dir("corrupt");
  auto expect_error = [&](const std::string& bytes, const std::string& needle) {
    const std::string msg = load_error(dir, bytes);
    EXPECT_NE(msg.find(needle), std::string::npos) << "expected '" << needle << "' in: '" << msg << "'";
    EXPECT_NE(msg.find("bad.safetensors"), std::string::npos) << msg;
  };
  const std::string f4 = raw(std::vector<float>{1, 2});  // 8 bytes
  auto entry = [](const std::string& name, const std::string& dtype, const std::string& shape, uint64_t b, uint64_t e) {
    return fmt::format(R"("{}":{{"dtype":"{}","shape":{},"data_offsets":[{},{}]}})", name, dtype, shape, b, e);
  };
  expect_error("", "truncated");
  expect_error("abc", "truncated");
  expect_error(le64(100) + "{}", "truncated: header length 100");
  expect_error(le64(1ULL << 62) + "{}", "larger than the limit");
  expect_error(st_file("{not json", ""), "invalid JSON");
  expect_error(st_file("[1, 2]", ""), "not an object");
  expect_error(st_file(std::string(200, '[') + std::string(200, ']'), ""), "nested too deeply");
  expect_error(st_file("{" + entry("x", "F8_E5M2", "[2]", 0, 4) + "}", "\0\0\0\0"), "unsupported dtype 'F8_E5M2'");
  expect_error(st_file("{" + entry("x", "F32", "[3]", 0, 8) + "}", f4), "need 12");
  expect_error(st_file("{" + entry("x", "F32", "[2]", 0, 8) + "}", f4.substr(0, 6)), "go past the end");
  expect_error(st_file("{" + entry("x", "F32", "[1]", 0, 4) + "," + entry("y", "F32", "[1]", 2, 6) + "}", f4),
               "overlap");
  expect_error(st_file("{" + entry("x", "F32", "[1]", 0, 4) + "," + entry("y", "F32", "[1]", 4, 8) + "," +
                           entry("z", "F32", "[0]", 6, 6) + "}",
                       f4),
               "overlap");
  expect_error(st_file("{" + entry("x", "F32", "[1]", 4, 8) + "}", f4), "gap");
  expect_error(st_file("{" + entry("x", "F32", "[1]", 0, 4) + "}", f4), "not described");
  expect_error(st_file("{" + entry("x", "F32", "[2]", 8, 0) + "}", f4), "end before they begin");
  expect_error(st_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[-1,7]}})", f4), "non-negative integer");
  expect_error(st_file(R"({"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", f4), "non-negative integer");
  expect_error(st_file(R"({"x":{"dtype":"F32","data_offsets":[0,8]}})", f4), "no \"shape\"");
  expect_error(st_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", f4), "data_offsets");
  expect_error(st_file(R"({"x":[1,2]})", f4), "not a JSON object");
  expect_error(st_file(R"({"x":{"dtype":7,"shape":[2],"data_offsets":[0,8]}})", f4), "not a string");
  expect_error(st_file(R"({"x":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", f4),
               "too large");
  expect_error(st_file("{" + entry("m", "BOOL", "[2]", 0, 2) + "}", std::string("\x01\x02", 2)), "not 0 or 1");
  expect_error(st_file(R"({"__metadata__":{"k":1}})", ""), "metadata");
  expect_error(st_file(R"({"__metadata__":[]})", ""), "__metadata__");
  EXPECT_TRUE(load_error(dir, st_file("{}", "")).empty());  // an empty file is valid

  // A real file cut short.
  Model m;
  const std::string good = dir.file("good.safetensors");
  m.save(good);
  const std::string bytes = read_text(good);
  expect_error(bytes.substr(0, bytes.size() - 4), "past the end");
  expect_error(bytes.substr(0, 20), "truncated");
  EXPECT_THROW(nn::load_safetensors(dir.file("missing.safetensors")), IOError);
  try {
    m.load(dir.file("missing.safetensors"));
    ADD_FAILURE() << "no error";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.safetensors"), std::string::npos);
  }
}

TEST(NnSerialize, AtomicWriteLeavesNoTemporaryOnFailure) {
  TempDir dir("atomic");
  Model m;
  // The target is a non-empty directory: writing the temporary works, the rename fails.
  const std::string target = dir.file("occupied");
  fs::create_directories(target);
  write_text(target + "/keep", "x");
  EXPECT_THROW(m.save(target), IOError);
  EXPECT_EQ(dir.listing(), (std::vector<std::string>{"occupied"}));
  // A directory that does not exist: nothing is created anywhere.
  EXPECT_THROW(m.save(dir.file("no/such/dir/model.safetensors")), IOError);
  EXPECT_EQ(dir.listing(), (std::vector<std::string>{"occupied"}));
  // An existing good file is replaced whole or not at all.
  const std::string path = dir.file("model.safetensors");
  m.save(path);
  const std::string before = read_text(path);
  nn::StateDict bad;
  bad.insert("ok", zeros({2}));
  bad.insert("__metadata__", zeros({1}));
  EXPECT_THROW(nn::save_safetensors(bad, path), IOError);
  EXPECT_EQ(read_text(path), before);
  EXPECT_EQ(dir.listing(), (std::vector<std::string>{"model.safetensors", "occupied"}));
}
