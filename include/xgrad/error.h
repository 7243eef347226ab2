#pragma once
/// One exception family for every bad call: catch xg::Error to catch them all.
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace xg {

/// Base of all xgrad errors. Messages name the operation and what is wrong with its inputs.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
/// Incompatible or invalid shapes (broadcasting, matmul, reshape, views).
class ShapeError : public Error {
 public:
  using Error::Error;
};
/// An operation does not support the dtype it was given.
class DTypeError : public Error {
 public:
  using Error::Error;
};
/// A dimension or element index outside its range.
class IndexError : public Error {
 public:
  using Error::Error;
};
/// An argument whose value is invalid (negative lr, bad kernel size, …).
class ValueError : public Error {
 public:
  using Error::Error;
};
/// Autograd misuse: backward through a freed graph, a saved tensor modified in place, …
class AutogradError : public Error {
 public:
  using Error::Error;
};
/// Reading or writing files (datasets, checkpoints): names the file and the problem.
class IOError : public Error {
 public:
  using Error::Error;
};

/// Throws E with a fmt-formatted message; keeps call sites to one line.
template <class E = Error, class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw E(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace xg
