/// safetensors reader: any bytes must load or be refused with xg::IOError; what loads must write
/// back and load again to the same tensors.
#include <cstring>

#include "tests/fuzz/fuzz_util.h"
#include "xgrad/io/safetensors.h"
#include "xgrad/ops/reduction.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xg;
  const auto path = fuzz::write_input("in.safetensors", data, size);
  io::SafetensorsContents c;
  try {
    c = io::read_safetensors(path.string());
  } catch (const IOError&) {
    return 0;
  }
  const std::string out = (fuzz::scratch_dir() / "out.safetensors").string();
  io::write_safetensors(c.tensors, out, c.metadata);
  io::SafetensorsContents again = io::read_safetensors(out);
  if (again.tensors.size() != c.tensors.size() || again.metadata != c.metadata) std::abort();
  for (size_t i = 0; i < c.tensors.size(); ++i) {
    const Tensor& a = c.tensors[i].second;
    const Tensor& b = again.tensors[i].second;
    if (again.tensors[i].first != c.tensors[i].first || a.shape() != b.shape() || a.dtype() != b.dtype() ||
        std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) != 0)
      std::abort();
  }
  return 0;
}
