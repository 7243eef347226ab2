/// xgrad_conformance: runs PyTorch reference cases (../shared/fixtures/torch/*.json) through xgrad.
/// Prints one line per failing case and closes with "N passed, N failed, N skipped".
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

Tensor parse_tensor(const json& j, DType default_dtype) {
  Shape shape = j.at("shape").get<Shape>();
  const std::string dt =
      j.contains("dtype") ? j.at("dtype").get<std::string>() : std::string(dtype_name(default_dtype));
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

std::string compare(const Tensor& actual, const json& expected, double rtol, double atol) {
  if (!actual.defined()) return "result is undefined";
  const Shape es = expected.at("shape").get<Shape>();
  if (actual.shape() != es) return fmt::format("shape {} != expected {}", shape_str(actual.shape()), shape_str(es));
  if (expected.contains("dtype") && expected.at("dtype") == "int64") {
    if (actual.dtype() != kInt64) return fmt::format("dtype {} != int64", dtype_name(actual.dtype()));
    auto a = actual.to_vector<int64_t>();
    auto e = expected.at("data").get<std::vector<int64_t>>();
    for (size_t i = 0; i < a.size(); ++i)
      if (a[i] != e[i]) return fmt::format("element {}: {} != {}", i, a[i], e[i]);
    return "";
  }
  auto a = actual.to_vector<double>();
  auto e = expected.at("data").get<std::vector<double>>();
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
  return fmt::format("element {}: got {:.9g}, expected {:.9g} (|err| {:.3g}, {:.1f}x the tolerance)", wi, a[wi], e[wi],
                     std::abs(a[wi] - e[wi]), worst);
}

namespace {

struct Tally {
  int passed = 0, failed = 0, skipped = 0;
  std::map<std::string, int> skipped_ops;
};

/// Runs one tensor-op case; returns "" on pass.
std::string run_op_case(const json& c, const OpFn& fn) {
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
  std::vector<Tensor> diff, gouts;
  size_t gi = 0;
  for (size_t k = 0; k < outs.size(); ++k) {
    if (auto err = compare(outs[k], eouts[k], rtol, atol); !err.empty())
      return fmt::format("output '{}': {}", eouts[k].at("name").get<std::string>(), err);
    if (eouts[k].value("differentiable", true) && c.contains("grad_outputs") && gi < c.at("grad_outputs").size()) {
      diff.push_back(outs[k]);
      gouts.push_back(parse_tensor(c.at("grad_outputs")[gi++]).to(outs[k].dtype()));
    }
  }
  if (!c.contains("grads") || c.at("grads").empty()) return "";
  std::vector<Tensor> g = autograd::grad(diff, leaves, gouts, false, false, true);
  for (size_t i = 0; i < leaves.size(); ++i) {
    const json& eg = c.at("grads").at(leaf_names[i]);
    Tensor gi_t = g[i].defined() ? g[i] : zeros(leaves[i].shape(), leaves[i].dtype());
    if (auto err = compare(gi_t, eg, rtol, atol); !err.empty())
      return fmt::format("grad of '{}': {}", leaf_names[i], err);
  }
  return "";
}

void run_file(const std::string& path, Tally& t, bool verbose) {
  std::ifstream f(path);
  if (!f) throw IOError(fmt::format("cannot open fixture file '{}'", path));
  json doc = json::parse(f);
  for (const json& c : doc.at("cases")) {
    const std::string name = c.at("name");
    std::string key, err;
    bool skipped = false;
    try {
      if (c.contains("op")) {
        key = c.at("op");
        auto it = op_registry().find(key);
        if (it == op_registry().end())
          skipped = true;
        else
          err = run_op_case(c, it->second);
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
  bool require_all = false, verbose = false;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--require-all")
      require_all = true;
    else if (a == "-v" || a == "--verbose")
      verbose = true;
    else if (a == "--help" || a == "-h") {
      fmt::print(
          "usage: xgrad_conformance [--require-all] [-v] FIXTURE.json...\n"
          "Runs PyTorch reference cases through xgrad. --require-all counts skipped cases as failures.\n"
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
      run_file(f, t, verbose);
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
