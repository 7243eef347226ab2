/// MNIST's IDX reader. The input is a labels file and an images file: the first two bytes
/// (little-endian) are the labels file's length, the rest is the images file (either may be
/// gzip-compressed).
#include "tests/fuzz/fuzz_util.h"
#include "xgrad/data/images.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xg;
  if (size < 2) return 0;
  const size_t n_labels = std::min<size_t>(size_t{data[0]} | size_t{data[1]} << 8, size - 2);
  fuzz::write_input("t10k-labels-idx1-ubyte", data + 2, n_labels);
  fuzz::write_input("t10k-images-idx3-ubyte", data + 2 + n_labels, size - 2 - n_labels);
  fuzz::refusal_ok([&] {
    data::MNIST ds(fuzz::scratch_dir(), data::Split::Test);
    const int64_t n = ds.size();
    if (n > 0) ds.get_batch({0, n - 1});
    ds.targets();
  });
  return 0;
}
