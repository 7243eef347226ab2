/// CIFAR-10's binary batch reader: the input is test_batch.bin (plain or gzip-compressed).
#include "tests/fuzz/fuzz_util.h"
#include "xgrad/data/images.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xg;
  fuzz::write_input("test_batch.bin", data, size);
  fuzz::refusal_ok([&] {
    data::CIFAR10 ds(fuzz::scratch_dir(), data::Split::Test);
    const int64_t n = ds.size();
    if (n > 0) ds.get_batch({n - 1, 0});
    ds.targets();
  });
  return 0;
}
