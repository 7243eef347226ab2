#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include <fmt/format.h>
#include <sys/wait.h>

#include "tests/test_util.h"
#include "xgrad/io/safetensors.h"

using namespace xg;
namespace fs = std::filesystem;

// The values of tests/io/torch_safetensors.py's VALUES: ties, subnormals, overflow, signed zero, NaN.
const std::vector<double> kValues{0.0,
                                  -0.0,
                                  1.0,
                                  -2.5,
                                  65504.0,
                                  65520.0,
                                  1e5,
                                  5.960464477539063e-08,
                                  2.98e-08,
                                  6.1e-05,
                                  1.0009765625,
                                  1.00048828125,
                                  1.000732421875,
                                  3.14159265358979,
                                  -1e-40,
                                  1e-45,
                                  3.4e38,
                                  INFINITY,
                                  -INFINITY,
                                  NAN,
                                  1.0 + 0x1p-11 + 0x1p-40,
                                  1.0 + 0x1p-8 + 0x1p-30,
                                  0.1,
                                  -123.456};

/// PyTorch writes F16, BF16, I8, U8, I16 and I32 files that xgrad reads exactly (as float16,
/// bfloat16 and int64); xgrad writes F16 and BF16 bit for bit as torch's .half() and .bfloat16() from float64.
TEST(SafetensorsDTypes, NarrowDTypesBothWaysAgainstPyTorch) {
  const fs::path dir = xgtest::fresh_dir("safetensors_dtypes");
  auto file = [&](const char* name) { return (dir / name).string(); };
  const Tensor v = from_vector(kValues, {static_cast<int64_t>(kValues.size())});
  io::write_safetensors({{"values", v}}, file("values.safetensors"));
  io::write_safetensors({{"f16", v}}, file("f16.safetensors"), {}, io::FloatStorage::float16);
  io::write_safetensors({{"bf16", v}}, file("bf16.safetensors"), {}, io::FloatStorage::bfloat16);
  const std::string cmd = fmt::format("/usr/bin/python3 {}/tests/io/torch_safetensors.py {} {} {} {}", XGRAD_SOURCE_DIR,
                                      file("torch.safetensors"), file("values.safetensors"), file("f16.safetensors"),
                                      file("bf16.safetensors"));
  const int rc = std::system(cmd.c_str());
  if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77) GTEST_SKIP() << "Debian's python3-torch is not installed";
  ASSERT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << "PyTorch disagrees with the 16-bit files xgrad wrote";

  const io::SafetensorsContents c = io::read_safetensors(file("torch.safetensors"));
  std::map<std::string, Tensor> got(c.tensors.begin(), c.tensors.end());
  for (const char* name : {"F16", "BF16", "I8", "U8", "I16", "I32"}) {
    SCOPED_TRACE(name);
    const Tensor t = got.at(name), ref = got.at(std::string(name) + ".ref");
    EXPECT_EQ(t.dtype(), ref.dtype() == kInt64 ? kInt64 : std::string_view(name) == "F16" ? kFloat16 : kBFloat16);
    EXPECT_EQ(t.shape(), ref.shape());
    if (is_floating(t.dtype())) {
      const std::vector<double> a = t.to(kFloat64).to_vector<double>(), b = ref.to_vector<double>();
      for (size_t i = 0; i < a.size(); ++i)
        EXPECT_TRUE(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))
            << "element " << i << ": " << a[i] << " vs " << b[i];
    } else {
      EXPECT_EQ(t.to_vector<int64_t>(), ref.to_vector<int64_t>());
    }
  }
  // Read back, xgrad's own 16-bit files widen to the values PyTorch's do.
  const Tensor f16 = io::read_safetensors(file("f16.safetensors")).tensors[0].second;
  const std::vector<double> a = f16.to(kFloat64).to_vector<double>(), b = got.at("F16.ref").to_vector<double>();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i]))) << i;
  fs::remove_all(dir);
}

TEST(SafetensorsDTypes, UnknownDTypeNamesTheOnesRead) {
  const fs::path dir = xgtest::fresh_dir("safetensors_dtype_bad");
  const std::string header = R"({"x":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})";
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  xgtest::write_text(dir / "bad.safetensors", bytes + header + "x");
  const std::string e = xgtest::error_of<IOError>([&] { io::read_safetensors((dir / "bad.safetensors").string()); });
  EXPECT_TRUE(xgtest::has(e, "F8_E4M3") && xgtest::has(e, "BF16") && xgtest::has(e, "U8")) << e;
  fs::remove_all(dir);
}
