/// CSVDataset. The first byte picks the options (header kind, classification or regression,
/// non-finite values allowed, delimiter, label column); the rest is the file.
#include "tests/fuzz/fuzz_util.h"
#include "xgrad/data/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xg;
  if (size < 1) return 0;
  const uint8_t o = data[0];
  data::CSVOptions opts;
  opts.header = static_cast<data::CSVHeader>(o & 3);
  opts.classification = (o & 4) == 0;
  opts.allow_nonfinite = (o & 8) != 0;
  opts.delimiter = ",;\t "[(o >> 4) & 3];
  opts.label_column = (o & 64) ? 0 : -1;
  if (o & 128) opts.label_name = "label";
  const auto path = fuzz::write_input("in.csv", data + 1, size - 1);
  fuzz::refusal_ok([&] {
    data::CSVDataset ds(path, opts);
    const int64_t n = ds.size();
    if (n > 0) ds.get_batch({n - 1, 0});
    ds.targets();
    ds.num_classes();
  });
  return 0;
}
