/// Replays tests/conformance/dtypes/cases.json (written by tests/conformance/dtypes/generate.py from
/// PyTorch): every case's result dtype, shape and values, or the refusal PyTorch makes. Every op in
/// the file must have a binding here: nothing is skipped. Format: tests/conformance/dtypes/README.md.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <variant>

#include "xgrad/xgrad.h"

#ifndef XGRAD_SOURCE_DIR
#error "XGRAD_SOURCE_DIR must name the source tree (tests/CMakeLists.txt defines it)"
#endif

namespace xg {
namespace {

using json = nlohmann::json;

/// One argument of a case: a tensor or a Python-style number.
using Arg = std::variant<Tensor, Scalar>;

struct Args {
  std::map<std::string, Arg> by_name;
  bool is_number(const std::string& n) const { return std::holds_alternative<Scalar>(by_name.at(n)); }
  Tensor t(const std::string& n) const { return std::get<Tensor>(by_name.at(n)); }
  Scalar s(const std::string& n) const { return std::get<Scalar>(by_name.at(n)); }
};

using OpFn = std::function<Tensor(const Args&, const json& attrs)>;

DType parse_dtype(const std::string& s) {
  if (s == "bool") return kBool;
  if (s == "int64") return kInt64;
  if (s == "float32") return kFloat32;
  if (s == "float64") return kFloat64;
  throw std::runtime_error("unknown dtype " + s);
}

/// A JSON number as a Scalar of the same kind (true/false, integer, floating).
Scalar parse_number(const json& v) {
  if (v.is_boolean()) return Scalar(v.get<bool>());
  if (v.is_number_integer()) return Scalar(v.get<int64_t>());
  return Scalar(v.get<double>());
}

double parse_float(const json& v) {
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
    return s == "inf" ? INFINITY : -INFINITY;
  }
  return v.get<double>();
}

Tensor parse_tensor(const json& j) {
  const Shape shape = j.at("shape").get<Shape>();
  const json& d = j.at("data");
  switch (parse_dtype(j.at("dtype"))) {
    case DType::boolean:
      return from_vector(d.get<std::vector<bool>>(), shape);
    case DType::int64:
      return from_vector(d.get<std::vector<int64_t>>(), shape);
    case DType::float32: {
      std::vector<float> v;
      for (const json& x : d) v.push_back(static_cast<float>(parse_float(x)));
      return from_vector(v, shape);
    }
    case DType::float64: {
      std::vector<double> v;
      for (const json& x : d) v.push_back(parse_float(x));
      return from_vector(v, shape);
    }
    case DType::float16:
    case DType::bfloat16:
      break;  // the cases hold none
  }
  return {};
}

std::optional<Scalar> opt_number(const json& attrs, const char* k) {
  if (!attrs.contains(k) || attrs.at(k).is_null()) return std::nullopt;
  return parse_number(attrs.at(k));
}

Shape reduce_dims(const json& attrs) {
  return attrs.at("dim").is_null() ? Shape{} : Shape{attrs.at("dim").get<int64_t>()};
}

// ---------------------------------------------------------------- bindings

/// A binary op called as PyTorch was: tensor-tensor, tensor-number and, where the Python operator
/// allows it, number-tensor.
OpFn binary(std::function<Tensor(const Tensor&, const Tensor&)> tt, std::function<Tensor(const Tensor&, Scalar)> ts,
            std::function<Tensor(Scalar, const Tensor&)> st = nullptr) {
  return [=](const Args& a, const json&) -> Tensor {
    if (a.is_number("input")) {
      if (!st) throw std::runtime_error("no number-first form bound");
      return st(a.s("input"), a.t("other"));
    }
    return a.is_number("other") ? ts(a.t("input"), a.s("other")) : tt(a.t("input"), a.t("other"));
  };
}
OpFn binary_tt(Tensor (*f)(const Tensor&, const Tensor&)) {
  return [f](const Args& a, const json&) { return f(a.t("input"), a.t("other")); };
}
OpFn unary(Tensor (*f)(const Tensor&)) {
  return [f](const Args& a, const json&) { return f(a.t("input")); };
}
/// An in-place op on a fresh self (each case parses its own tensors); returns self.
OpFn inplace(std::function<void(Tensor&, const Args&, const json&)> f) {
  return [f](const Args& a, const json& attrs) {
    Tensor self = a.t("self");
    f(self, a, attrs);
    return self;
  };
}
OpFn out_form(Tensor& (*f)(Tensor&, const Tensor&, const Tensor&)) {
  return [f](const Args& a, const json&) {
    Tensor out = a.t("out");
    return f(out, a.t("input"), a.t("other"));
  };
}
OpFn reduction(std::function<Tensor(const Tensor&, const Shape&, bool)> f) {
  return [f](const Args& a, const json& attrs) { return f(a.t("input"), reduce_dims(attrs), attrs.at("keepdim")); };
}

std::map<std::string, OpFn> bindings() {
  std::map<std::string, OpFn> m;
  m["add"] =
      binary([](const Tensor& a, const Tensor& b) { return add(a, b); },
             [](const Tensor& a, Scalar b) { return add(a, b); }, [](Scalar a, const Tensor& b) { return a + b; });
  m["sub"] =
      binary([](const Tensor& a, const Tensor& b) { return sub(a, b); },
             [](const Tensor& a, Scalar b) { return sub(a, b); }, [](Scalar a, const Tensor& b) { return a - b; });
  m["mul"] =
      binary([](const Tensor& a, const Tensor& b) { return mul(a, b); },
             [](const Tensor& a, Scalar b) { return mul(a, b); }, [](Scalar a, const Tensor& b) { return a * b; });
  m["div"] =
      binary([](const Tensor& a, const Tensor& b) { return div(a, b); },
             [](const Tensor& a, Scalar b) { return div(a, b); }, [](Scalar a, const Tensor& b) { return a / b; });
  m["pow"] =
      binary([](const Tensor& a, const Tensor& b) { return pow(a, b); },
             [](const Tensor& a, Scalar b) { return pow(a, b); }, [](Scalar a, const Tensor& b) { return pow(a, b); });
#define XG_BINARY(name)                                                          \
  m[#name] = binary([](const Tensor& a, const Tensor& b) { return name(a, b); }, \
                    [](const Tensor& a, Scalar b) { return name(a, b); })
  XG_BINARY(floor_divide);
  XG_BINARY(remainder);
  XG_BINARY(fmod);
  XG_BINARY(eq);
  XG_BINARY(ne);
  XG_BINARY(lt);
  XG_BINARY(le);
  XG_BINARY(gt);
  XG_BINARY(ge);
  XG_BINARY(bitwise_and);
  XG_BINARY(bitwise_or);
  XG_BINARY(bitwise_xor);
#undef XG_BINARY
  m["maximum"] = binary_tt(maximum);
  m["minimum"] = binary_tt(minimum);
  m["logical_and"] = binary_tt(logical_and);
  m["logical_or"] = binary_tt(logical_or);
  m["logical_xor"] = binary_tt(logical_xor);
  using Unary = Tensor (*)(const Tensor&);
  const std::pair<const char*, Unary> unaries[] = {{"neg", neg},
                                                   {"abs", abs},
                                                   {"sign", sign},
                                                   {"square", square},
                                                   {"exp", exp},
                                                   {"log", log},
                                                   {"sqrt", sqrt},
                                                   {"rsqrt", rsqrt},
                                                   {"reciprocal", reciprocal},
                                                   {"sin", sin},
                                                   {"cos", cos},
                                                   {"erf", erf},
                                                   {"logical_not", logical_not},
                                                   {"bitwise_not", bitwise_not},
                                                   {"isnan", isnan},
                                                   {"isfinite", isfinite},
                                                   {"relu", relu},
                                                   {"sigmoid", sigmoid},
                                                   {"tanh", tanh},
                                                   {"silu", silu}};
  for (const auto& [name, f] : unaries) m[name] = unary(f);
  m["leaky_relu"] = [](const Args& a, const json&) { return leaky_relu(a.t("input")); };
  m["gelu"] = [](const Args& a, const json&) { return gelu(a.t("input")); };
  m["softplus"] = [](const Args& a, const json&) { return softplus(a.t("input")); };
  m["elu"] = [](const Args& a, const json&) { return elu(a.t("input")); };
  m["clamp"] = [](const Args& a, const json& attrs) {
    return clamp(a.t("input"), opt_number(attrs, "min"), opt_number(attrs, "max"));
  };
  m["where"] = [](const Args& a, const json&) {
    const Tensor c = a.t("condition");
    const bool ni = a.is_number("input"), no = a.is_number("other");
    if (ni && no) return where(c, a.s("input"), a.s("other"));
    if (ni) return where(c, a.s("input"), a.t("other"));
    if (no) return where(c, a.t("input"), a.s("other"));
    return where(c, a.t("input"), a.t("other"));
  };
  // reductions
  m["sum"] = reduction([](const Tensor& x, const Shape& d, bool k) { return sum(x, d, k); });
  m["prod"] = reduction([](const Tensor& x, const Shape& d, bool k) { return prod(x, d, k); });
  m["mean"] = reduction([](const Tensor& x, const Shape& d, bool k) { return mean(x, d, k); });
  m["amax"] = reduction([](const Tensor& x, const Shape& d, bool k) { return amax(x, d, k); });
  m["amin"] = reduction([](const Tensor& x, const Shape& d, bool k) { return amin(x, d, k); });
  m["logsumexp"] = reduction([](const Tensor& x, const Shape& d, bool k) { return logsumexp(x, d, k); });
  m["var"] = reduction([](const Tensor& x, const Shape& d, bool k) { return var(x, d, true, k); });
  m["std"] = reduction([](const Tensor& x, const Shape& d, bool k) { return xg::std(x, d, true, k); });
  m["argmax"] = [](const Args& a, const json& attrs) {
    return attrs.at("dim").is_null() ? argmax(a.t("input"))
                                     : argmax(a.t("input"), attrs.at("dim"), attrs.at("keepdim"));
  };
  m["argmin"] = [](const Args& a, const json& attrs) {
    return attrs.at("dim").is_null() ? argmin(a.t("input"))
                                     : argmin(a.t("input"), attrs.at("dim"), attrs.at("keepdim"));
  };
  // shape ops
  m["reshape"] = [](const Args& a, const json& at) { return reshape(a.t("input"), at.at("shape").get<Shape>()); };
  m["flatten"] = [](const Args& a, const json&) { return flatten(a.t("input")); };
  m["permute"] = [](const Args& a, const json& at) { return permute(a.t("input"), at.at("dims").get<Shape>()); };
  m["transpose"] = [](const Args& a, const json& at) { return transpose(a.t("input"), at.at("dim0"), at.at("dim1")); };
  m["narrow"] = [](const Args& a, const json& at) {
    return narrow(a.t("input"), at.at("dim"), at.at("start"), at.at("length"));
  };
  m["select"] = [](const Args& a, const json& at) { return select(a.t("input"), at.at("dim"), at.at("index")); };
  m["squeeze"] = [](const Args& a, const json&) { return squeeze(unsqueeze(a.t("input"), 0)); };
  m["unsqueeze"] = [](const Args& a, const json& at) { return unsqueeze(a.t("input"), at.at("dim")); };
  m["expand"] = [](const Args& a, const json& at) { return expand(a.t("input"), at.at("size").get<Shape>()); };
  m["index_select"] = [](const Args& a, const json& at) {
    return index_select(a.t("input"), at.at("dim"), from_vector(at.at("index").get<std::vector<int64_t>>(), {2}));
  };
  m["contiguous"] = [](const Args& a, const json&) { return a.t("input").t().contiguous(); };
  m["clone"] = [](const Args& a, const json&) { return a.t("input").clone(); };
  m["to"] = [](const Args& a, const json& at) { return a.t("input").to(parse_dtype(at.at("dtype"))); };
  m["cat"] = [](const Args& a, const json& at) { return cat({a.t("t0"), a.t("t1")}, at.at("dim")); };
  m["stack"] = [](const Args& a, const json& at) { return stack({a.t("t0"), a.t("t1")}, at.at("dim")); };
  // in-place, copy_, fill_ and out= forms
  const auto tensor_or_number = [](void (*tf)(Tensor&, const Tensor&), void (*sf)(Tensor&, Scalar)) {
    return inplace([tf, sf](Tensor& self, const Args& a, const json&) {
      if (a.is_number("other"))
        sf(self, a.s("other"));
      else
        tf(self, a.t("other"));
    });
  };
  m["add_"] = tensor_or_number([](Tensor& s, const Tensor& o) { s.add_(o); }, [](Tensor& s, Scalar v) { s.add_(v); });
  m["sub_"] = tensor_or_number([](Tensor& s, const Tensor& o) { s.sub_(o); }, [](Tensor& s, Scalar v) { s.sub_(v); });
  m["mul_"] = tensor_or_number([](Tensor& s, const Tensor& o) { s.mul_(o); }, [](Tensor& s, Scalar v) { s.mul_(v); });
  m["div_"] = tensor_or_number([](Tensor& s, const Tensor& o) { s.div_(o); }, [](Tensor& s, Scalar v) { s.div_(v); });
  m["copy_"] = inplace([](Tensor& s, const Args& a, const json&) { s.copy_(a.t("src")); });
  m["fill_"] = inplace([](Tensor& s, const Args& a, const json&) { s.fill_(a.s("value")); });
  m["clamp_"] =
      inplace([](Tensor& s, const Args&, const json& at) { s.clamp_(opt_number(at, "min"), opt_number(at, "max")); });
  m["neg_"] = inplace([](Tensor& s, const Args&, const json&) { s.neg_(); });
  m["sigmoid_"] = inplace([](Tensor& s, const Args&, const json&) { s.sigmoid_(); });
  m["add_out"] = out_form(add_out);
  m["sub_out"] = out_form(sub_out);
  m["mul_out"] = out_form(mul_out);
  m["div_out"] = out_form(div_out);
  return m;
}

// ---------------------------------------------------------------- comparison

/// "" when actual matches the expected dtype, shape and values; else what differs.
std::string compare(const Tensor& actual, const json& expected, const json& tolerances) {
  const DType dt = parse_dtype(expected.at("dtype"));
  if (actual.dtype() != dt) return fmt::format("dtype {}, expected {}", dtype_name(actual.dtype()), dtype_name(dt));
  const Shape shape = expected.at("shape").get<Shape>();
  if (actual.shape() != shape) return fmt::format("shape {}, expected {}", shape_str(actual.shape()), shape_str(shape));
  const json& data = expected.at("data");
  if (dt == kInt64 || dt == kBool) {
    const auto a = actual.to_vector<int64_t>();
    for (size_t i = 0; i < a.size(); ++i) {
      const int64_t e = dt == kBool ? int64_t{data[i].get<bool>()} : data[i].get<int64_t>();
      if (a[i] != e) return fmt::format("element {}: {}, expected {}", i, a[i], e);
    }
    return "";
  }
  const double rtol = tolerances.at(dtype_name(dt)).at("rtol"), atol = tolerances.at(dtype_name(dt)).at("atol");
  const auto a = actual.to_vector<double>();
  for (size_t i = 0; i < a.size(); ++i) {
    double e = parse_float(data[i]);
    if (dt == kFloat32) e = static_cast<float>(e);  // written as the shortest float32 decimal
    const bool ok = std::isnan(e)   ? std::isnan(a[i])
                    : std::isinf(e) ? a[i] == e
                                    : std::abs(a[i] - e) <= atol + rtol * std::abs(e);
    if (!ok) return fmt::format("element {}: {:.9g}, expected {:.9g}", i, a[i], e);
  }
  return "";
}

std::string describe(const json& c) {
  std::string s = c.at("op").get<std::string>() + "(";
  for (size_t i = 0; i < c.at("inputs").size(); ++i)
    s += fmt::format("{}{}={}", i ? ", " : "", c.at("inputs")[i][0].get<std::string>(),
                     c.at("inputs")[i][1].get<std::string>());
  if (c.contains("attrs")) s += ", " + c.at("attrs").dump();
  return s + ")";
}

TEST(DtypeCases, MatchPyTorch) {
  const std::string path = std::string(XGRAD_SOURCE_DIR) + "/tests/conformance/dtypes/cases.json";
  std::ifstream f(path);
  ASSERT_TRUE(f) << "cannot open " << path;
  const json doc = json::parse(f);
  ASSERT_EQ(doc.at("format_version"), 1);
  ASSERT_EQ(doc.at("default_dtype"), "float32");
  ASSERT_EQ(get_default_dtype(), kFloat32);
  const json& operands = doc.at("operands");
  const json& tolerances = doc.at("tolerances");
  const auto ops = bindings();
  int passed = 0, failed = 0;
  for (const json& c : doc.at("cases")) {
    const std::string what = describe(c);
    const auto it = ops.find(c.at("op"));
    if (it == ops.end()) {
      ADD_FAILURE() << "no binding for op '" << c.at("op").get<std::string>() << "' (" << what << ")";
      ++failed;
      continue;
    }
    Args args;
    for (const json& in : c.at("inputs")) {
      const json& o = operands.at(in[1].get<std::string>());
      if (o.contains("number"))
        args.by_name.emplace(in[0].get<std::string>(), parse_number(o.at("number")));
      else
        args.by_name.emplace(in[0].get<std::string>(), parse_tensor(o));
    }
    const json attrs = c.value("attrs", json::object());
    std::string err;
    try {
      const Tensor r = it->second(args, attrs);
      err = c.contains("error") ? fmt::format("PyTorch refuses this ({}), xgrad gave {}",
                                              c.at("error").get<std::string>(), r.to_string())
                                : compare(r, c.at("expected"), tolerances);
    } catch (const Error& e) {
      if (!c.contains("error")) err = fmt::format("threw: {}", e.what());
    }
    if (err.empty()) {
      ++passed;
    } else {
      ++failed;
      ADD_FAILURE() << what << ": " << err;
    }
  }
  EXPECT_EQ(failed, 0);
  EXPECT_GT(passed, 2000);  // the file holds every case; a truncated file fails here
  fmt::print("dtype cases: {} passed, {} failed, 0 skipped\n", passed, failed);
}

}  // namespace
}  // namespace xg
