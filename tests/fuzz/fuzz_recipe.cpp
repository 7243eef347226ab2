/// Recipe::from_json on any bytes (a recipe.json from disk is hostile input too), then the loaded
/// recipe's own reading options and transform on a small fixed table.
#include <string>

#include "tests/fuzz/fuzz_util.h"
#include "xgrad/data/table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace xg;
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::refusal_ok([&] {
    const data::Recipe r = data::Recipe::from_json(text);
    (void)r.feature_names();
    (void)r.num_outputs();
    const std::string csv = "a,b,c,y\n1,x,2.5,0\nNA,y,,1\n3,,7,0\n";
    const auto records = data::parse_csv_records(
        csv, {.delimiter = r.read_options.delimiter, .trim_spaces = r.read_options.trim_spaces});
    const data::Table t = data::Table::from_records(records, r.read_options, "fixed");
    const data::TabularTensors d = r.transform(t, t.has_column(r.options().label));
    if (d.targets.defined() && r.options().task == data::Task::Regression) (void)r.inverse_target(d.targets);
  });
  return 0;
}
