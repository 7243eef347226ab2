/// xgrad_conformance: runs PyTorch reference cases (../shared/fixtures/torch/*.json and the project's own
/// tests/conformance/cases/*.json) through xgrad.
/// Prints one line per failing case and closes with "N passed, N failed, N skipped".
#include <cfloat>
#include <cmath>
#include <fstream>
#include <iostream>

#include "tests/conformance/conformance.h"

namespace xg::conformance {

std::map<std::string, OpFn>& op_registry() {
  static std::map<std::string, OpFn> r;
  return r;
}
std::map<std::string, CaseFn>& case_registry() {
  static std::map<std::string, CaseFn> r;
  return r;
}

namespace {

/// splitmix64 of element i: the generator's hashed_ints (tests/conformance/generate.py), bit for bit.
int64_t hashed_int(uint64_t seed, uint64_t i) {
  uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return static_cast<int64_t>(z >> 40) - (int64_t{1} << 23);
}

/// A "generate" spec: float32 center + v_i·2^(log2_half-23) (v_i·2^k is exact, so one rounding to
/// double and one to float, as numpy does), or int64 class indices (v_i + 2^23) mod classes.
Tensor generate_tensor(const json& g, const Shape& shape, const std::string& dt) {
  const int64_t n = shape_numel(shape);
  const auto seed = g.at("seed").get<uint64_t>();
  if (dt == "int64") {
    const auto classes = g.at("classes").get<int64_t>();
    std::vector<int64_t> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      v[static_cast<size_t>(i)] = (hashed_int(seed, static_cast<uint64_t>(i)) + (int64_t{1} << 23)) % classes;
    return from_vector(v, shape);
  }
  if (dt != "float32") throw ValueError(fmt::format("cannot generate a {} tensor", dt));
  const double center = g.at("center"), step = std::ldexp(1.0, g.at("log2_half").get<int>() - 23);
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] =
        static_cast<float>(static_cast<double>(hashed_int(seed, static_cast<uint64_t>(i))) * step + center);
  return from_vector(v, shape);
}

}  // namespace

Tensor parse_tensor(const json& j, DType default_dtype) {
  Shape shape = j.at("shape").get<Shape>();
  const std::string dt =
      j.contains("dtype") ? j.at("dtype").get<std::string>() : std::string(dtype_name(default_dtype));
  if (j.contains("generate")) return generate_tensor(j.at("generate"), shape, dt);
  const json& data = j.at("data");
  if (dt == "int64") return from_vector(data.get<std::vector<int64_t>>(), shape);
  if (dt == "bool") return from_vector(data.get<std::vector<bool>>(), shape);
  std::vector<double> v = data.get<std::vector<double>>();
  if (dt == "float64") return from_vector(v, shape);
  std::vector<float> f(v.begin(), v.end());
  return from_vector(f, shape);
}

Shape dims_attr(const json& j) {
  if (j.is_null()) return {};
  if (j.is_number_integer()) return {j.get<int64_t>()};
  return j.get<Shape>();
}

namespace {

/// The actual values at the expected tensor's stored positions (all of them, or its "index" list).
template <class T>
std::vector<T> stored_values(const Tensor& actual, const json& expected) {
  std::vector<T> a = actual.to_vector<T>();
  if (!expected.contains("index")) return a;
  std::vector<T> s;
  for (const json& i : expected.at("index")) s.push_back(a.at(i.get<size_t>()));
  return s;
}

}  // namespace

std::string compare(const Tensor& actual, const json& expected, double rtol, double atol) {
  if (!actual.defined()) return "result is undefined";
  const Shape es = expected.at("shape").get<Shape>();
  if (actual.shape() != es) return fmt::format("shape {} != expected {}", shape_str(actual.shape()), shape_str(es));
  const bool sampled = expected.contains("index");
  auto position = [&](size_t i) { return sampled ? expected.at("index").at(i).get<size_t>() : i; };
  if (expected.contains("dtype") && expected.at("dtype") == "int64") {
    if (actual.dtype() != kInt64) return fmt::format("dtype {} != int64", dtype_name(actual.dtype()));
    auto a = stored_values<int64_t>(actual, expected);
    auto e = expected.at("data").get<std::vector<int64_t>>();
    for (size_t i = 0; i < a.size(); ++i)
      if (a[i] != e[i]) return fmt::format("element {}: {} != {}", position(i), a[i], e[i]);
    return "";
  }
  auto a = stored_values<double>(actual, expected);
  auto e = expected.at("data").get<std::vector<double>>();
  if (a.size() != e.size()) return fmt::format("{} stored values for {} positions", e.size(), a.size());
  double worst = 0;
  size_t wi = 0;
  bool bad = false;
  for (size_t i = 0; i < a.size(); ++i) {
    const double err = std::abs(a[i] - e[i]);
    const double allowed = atol + rtol * std::abs(e[i]);
    if (!(err <= allowed)) bad = true;
    const double ratio = std::isnan(err) ? INFINITY : err / allowed;
    if (ratio >= worst) {
      worst = ratio;
      wi = i;
    }
  }
  if (!bad) return "";
  return fmt::format("element {}: got {:.9g}, expected {:.9g} (|err| {:.3g}, {:.1f}x the tolerance)", position(wi),
                     a[wi], e[wi], std::abs(a[wi] - e[wi]), worst);
}

double accuracy_error(const Tensor& actual, const json& expected, double delta, double floor, size_t* worst) {
  const auto a = stored_values<double>(actual, expected);
  const auto e = expected.at("data").get<std::vector<double>>();
  double scale = FLT_MIN, err = 0;
  for (double v : e) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::abs(a[i] - e[i]);
    const double ei =
        std::isfinite(a[i]) ? std::max(0.0, d - floor * scale) / (std::abs(e[i]) + delta * scale) : INFINITY;
    if (ei > err || (i == 0 && worst)) {
      err = ei;
      if (worst) *worst = i;
    }
  }
  return err;
}

namespace {

struct Tally {
  int passed = 0, failed = 0, skipped = 0;
  std::map<std::string, int> skipped_ops;
};

/// How a file's cases are judged and reported.
struct Options {
  Accuracy accuracy;
  bool report = false;  ///< print xgrad's and PyTorch's float32 error for every checked tensor
};

/// One output or gradient: the tolerance, then (for accuracy cases) xgrad's error against PyTorch's.
std::string check_tensor(const std::string& case_name, const std::string& what, const Tensor& actual,
                         const json& expected, double rtol, double atol, const Options& o) {
  std::string err = compare(actual, expected, rtol, atol);
  if (!err.empty()) err = fmt::format("{}: {}", what, err);
  if (!o.accuracy.enabled || !expected.contains("torch_float32_error") || !actual.defined() ||
      actual.shape() != expected.at("shape").get<Shape>())
    return err;
  size_t wi = 0;
  const double mine = accuracy_error(actual, expected, o.accuracy.delta, 0.0, &wi);
  const json& theirs = expected.at("torch_float32_error");
  if (o.report)
    fmt::print("accuracy {} {}: xgrad {:.3g}, torch float32 {} (worst at {}: {:.9g}, expected {:.9g})\n", case_name,
               what, mine, theirs.is_null() ? std::string("not finite") : fmt::format("{:.3g}", theirs.get<double>()),
               expected.contains("index") ? expected.at("index").at(wi).get<size_t>() : wi,
               stored_values<double>(actual, expected).at(wi), expected.at("data").at(wi).get<double>());
  // null: PyTorch's float32 result is not finite; only the tolerance applies.
  if (!err.empty() || theirs.is_null()) return err;
  const double bound = o.accuracy.factor * theirs.get<double>();
  const double judged = accuracy_error(actual, expected, o.accuracy.delta, o.accuracy.slack);
  if (!(judged <= bound))
    err = fmt::format(
        "{}: less accurate than PyTorch float32 (error {:.3g}, {:.3g} beyond {:.2g} of the largest "
        "value; PyTorch's {:.3g}, allowed {:.3g})",
        what, mine, judged, o.accuracy.slack, theirs.get<double>(), bound);
  return err;
}

/// A JSON attribute as the op registry takes it.
ops::Attr to_attr(const json& j) {
  if (j.is_null()) return std::monostate{};
  if (j.is_boolean()) return j.get<bool>();
  if (j.is_number_integer()) return j.get<int64_t>();
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) return j.get<std::string>();
  if (j.is_array()) return j.get<std::vector<int64_t>>();
  throw ValueError(fmt::format("attribute {} has no registry form", j.dump()));
}

/// The binding of an op defined with ops::OpDef: its registry entry names its tensor arguments and
/// attributes as the cases do, so it needs no hand-written binding.
OpFn registry_binding(const ops::OpInfo& op) {
  return [&op](const Inputs& in, const json& attrs) {
    std::vector<Tensor> ts;
    // An input a case leaves out is an absent optional one (attn_mask).
    for (const std::string& n : op.inputs) ts.push_back(in.contains(n) ? in.at(n) : Tensor());
    std::vector<ops::Attr> as;
    for (const std::string& n : op.attrs) as.push_back(to_attr(attrs.at(n)));
    return op.call(ts, as);
  };
}

/// Runs one tensor-op case; returns "" on pass, else the first failure.
std::string run_op_case(const json& c, const OpFn& fn, const Options& o) {
  const std::string name = c.at("name");
  Inputs inputs;
  std::vector<Tensor> leaves;
  std::vector<std::string> leaf_names;
  for (const json& in : c.at("inputs")) {
    Tensor t = parse_tensor(in);
    if (in.value("requires_grad", false)) {
      t.requires_grad_();
      leaves.push_back(t);
      leaf_names.push_back(in.at("name"));
    }
    inputs[in.at("name")] = t;
  }
  const double rtol = c.at("rtol"), atol = c.at("atol");
  std::vector<Tensor> outs = fn(inputs, c.value("attrs", json::object()));
  const json& eouts = c.at("outputs");
  if (outs.size() != eouts.size()) return fmt::format("{} outputs, expected {}", outs.size(), eouts.size());
  std::string first;
  auto note = [&](std::string err) {
    if (first.empty()) first = std::move(err);
  };
  std::vector<Tensor> diff, gouts;
  size_t gi = 0;
  for (size_t k = 0; k < outs.size(); ++k) {
    note(check_tensor(name, fmt::format("output '{}'", eouts[k].at("name").get<std::string>()), outs[k], eouts[k], rtol,
                      atol, o));
    if (eouts[k].value("differentiable", true) && c.contains("grad_outputs") && gi < c.at("grad_outputs").size()) {
      diff.push_back(outs[k]);
      gouts.push_back(parse_tensor(c.at("grad_outputs")[gi++]).to(outs[k].dtype()));
    }
  }
  if (!first.empty() && !o.report) return first;
  if (!c.contains("grads") || c.at("grads").empty()) return first;
  std::vector<Tensor> g = autograd::grad(diff, leaves, gouts, false, false, true);
  for (size_t i = 0; i < leaves.size(); ++i) {
    const json& eg = c.at("grads").at(leaf_names[i]);
    Tensor gi_t = g[i].defined() ? g[i] : zeros(leaves[i].shape(), leaves[i].dtype());
    note(check_tensor(name, fmt::format("grad of '{}'", leaf_names[i]), gi_t, eg, rtol, atol, o));
  }
  return first;
}

void run_file(const std::string& path, Tally& t, bool verbose, bool report) {
  std::ifstream f(path);
  if (!f) throw IOError(fmt::format("cannot open fixture file '{}'", path));
  json doc = json::parse(f);
  Options o;
  o.report = report;
  if (doc.contains("accuracy")) {
    const json& a = doc.at("accuracy");
    o.accuracy = {a.at("delta"), a.at("factor"), a.at("slack"), true};
  }
  for (const json& c : doc.at("cases")) {
    const std::string name = c.at("name");
    std::string key, err;
    bool skipped = false;
    try {
      if (c.contains("op")) {
        key = c.at("op");
        // A hand-written binding (an op's number or optional-argument form) comes first, then the
        // op registry.
        auto it = op_registry().find(key);
        if (it != op_registry().end())
          err = run_op_case(c, it->second, o);
        else if (const ops::OpInfo* op = ops::find_op(key))
          err = run_op_case(c, registry_binding(*op), o);
        else
          skipped = true;
      } else {
        key = c.contains("optimizer") ? c.at("optimizer").get<std::string>() : c.at("scheduler").get<std::string>();
        auto it = case_registry().find(key);
        if (it == case_registry().end()) {
          skipped = true;
        } else {
          CaseResult r = it->second(c);
          skipped = r.skipped;
          err = r.error;
        }
      }
    } catch (const std::exception& e) {
      err = fmt::format("exception: {}", e.what());
    }
    if (skipped) {
      ++t.skipped;
      ++t.skipped_ops[key];
    } else if (!err.empty()) {
      ++t.failed;
      fmt::print("FAIL {}: {}\n", name, err);
    } else {
      ++t.passed;
      if (verbose) fmt::print("ok   {}\n", name);
    }
  }
}

}  // namespace
}  // namespace xg::conformance

int main(int argc, char** argv) {
  using namespace xg::conformance;
  bool require_all = false, verbose = false, report = false;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--require-all")
      require_all = true;
    else if (a == "-v" || a == "--verbose")
      verbose = true;
    else if (a == "--accuracy")
      report = true;
    else if (a == "--help" || a == "-h") {
      fmt::print(
          "usage: xgrad_conformance [--require-all] [-v] [--accuracy] FIXTURE.json...\n"
          "Runs PyTorch reference cases through xgrad. --require-all counts skipped cases as failures.\n"
          "--accuracy prints xgrad's and PyTorch's float32 error for every tensor of an accuracy case.\n"
          "Exits 77 (skip) when a fixture file is missing, 1 on any failure.\n");
      return 0;
    } else
      files.push_back(a);
  }
  if (files.empty()) {
    fmt::print(stderr, "xgrad_conformance: no fixture files given (see --help)\n");
    return 2;
  }
  Tally t;
  for (const auto& f : files) {
    if (!std::ifstream(f)) {
      fmt::print("fixture file '{}' not found: skipped (the fixtures live in ../shared/fixtures/torch)\n", f);
      return 77;
    }
    try {
      run_file(f, t, verbose, report);
    } catch (const std::exception& e) {
      fmt::print("error reading '{}': {}\n", f, e.what());
      return 1;
    }
  }
  if (!t.skipped_ops.empty()) {
    std::string s;
    for (auto& [op, n] : t.skipped_ops) s += fmt::format(" {}({})", op, n);
    fmt::print("skipped ops (not in xgrad yet):{}\n", s);
  }
  fmt::print("{} passed, {} failed, {} skipped\n", t.passed, t.failed, t.skipped);
  return t.failed > 0 || (require_all && t.skipped > 0) ? 1 : 0;
}
