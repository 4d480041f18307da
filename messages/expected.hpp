#pragma once

#include "crust/messages/errc.hpp"

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace crust {

/// An error code plus the context that makes it actionable (a file name, a
/// mode, an offending character). Free of CAF so engines can use it.
struct failure {
  errc code = errc::none;
  std::string detail;

  /// "<readable code>: <detail>", or just the readable code.
  std::string message() const {
    std::string out{to_string(code)};
    if (!detail.empty()) {
      out += ": ";
      out += detail;
    }
    return out;
  }
};

inline bool operator==(const failure& x, errc y) noexcept {
  return x.code == y;
}

/// Either a value or a failure (C++17 has no std::expected).
template<class T>
class expected {
public:
  expected(T value) : data_(std::move(value)) { // NOLINT: implicit by design
    // nop
  }

  expected(failure err) : data_(std::move(err)) { // NOLINT: implicit by design
    // nop
  }

  expected(errc code, std::string detail = {}) // NOLINT: implicit by design
    : data_(failure{code, std::move(detail)}) {
    // nop
  }

  explicit operator bool() const noexcept {
    return data_.index() == 0;
  }

  T& operator*() & {
    assert(*this);
    return std::get<0>(data_);
  }

  const T& operator*() const& {
    assert(*this);
    return std::get<0>(data_);
  }

  T&& operator*() && {
    assert(*this);
    return std::get<0>(std::move(data_));
  }

  T* operator->() {
    return &**this;
  }

  const T* operator->() const {
    return &**this;
  }

  const failure& error() const {
    assert(!*this);
    return std::get<1>(data_);
  }

private:
  std::variant<T, failure> data_;
};

/// The result of an operation that yields nothing but may fail.
class status {
public:
  status() = default;

  status(failure err) : err_(std::move(err)) { // NOLINT: implicit by design
    // nop
  }

  status(errc code, std::string detail = {}) // NOLINT: implicit by design
    : err_{code, std::move(detail)} {
    // nop
  }

  explicit operator bool() const noexcept {
    return err_.code == errc::none;
  }

  errc code() const noexcept {
    return err_.code;
  }

  const failure& error() const noexcept {
    return err_;
  }

private:
  failure err_;
};

} // namespace crust
