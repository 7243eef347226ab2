/// Table and Recipe on any CSV bytes. The first byte picks the recipe (missing-cell policy,
/// encoding, unknown categories, scaling, task); the rest is the file, read with a guessed
/// delimiter and a header, the last column the label. A fitted recipe must survive its own JSON:
/// the reloaded one transforms the table to the same bytes.
#include <cstring>

#include "tests/fuzz/fuzz_util.h"
#include "xgrad/data/table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xg;
  if (size < 1) return 0;
  const uint8_t o = data[0];
  data::RecipeOptions ro;
  ro.missing = static_cast<data::Missing>((o & 7) % 6);
  ro.encoding = (o & 8) ? data::Encoding::Ordinal : data::Encoding::OneHot;
  ro.unknown = (o & 16) ? data::Unknown::Ignore : data::Unknown::Refuse;
  ro.scaling = static_cast<data::Scaling>(((o >> 5) & 3) % 3);
  ro.task = (o & 128) ? data::Task::Regression : data::Task::Classification;
  const auto path = fuzz::write_input("in.csv", data + 1, size - 1);
  fuzz::refusal_ok([&] {
    const data::Table t = data::Table::read_csv(path);
    (void)t.schema();
    ro.label = t.column(t.num_columns() - 1).name;
    data::Recipe r(ro);
    r.fit(t.num_rows() < 2 ? t : t.split(0.5, 1).first);  // unseen rows left for transform
    const data::TabularTensors a = r.transform(t);
    const data::Recipe back = data::Recipe::from_json(r.to_json());
    const data::TabularTensors b = back.transform(t);
    if (a.features.numel() != b.features.numel() ||
        std::memcmp(a.features.data<float>(), b.features.data<float>(),
                    static_cast<size_t>(a.features.numel()) * sizeof(float)) != 0)
      __builtin_trap();  // the saved recipe is not the fitted one
  });
  return 0;
}
