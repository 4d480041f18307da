#pragma once

// Helpers shared by the engine suites (tests/transport/noise). Those suites
// link only crust_engines and Boost.Test: nothing here may need CAF.
// Header-only, so that it needs no library of its own.

#include "crust/messages/errc.hpp"
#include "crust/messages/hex.hpp"
#include "crust/transport/byte_span.hpp"
#include "crust/transport/noise/primitives.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <ostream>
#include <string>

namespace crust {

/// Prints an error code by name in Boost.Test's messages. It stays in
/// namespace crust, errc's own, for Boost.Test to find it by
/// argument-dependent lookup.
inline std::ostream& operator<<(std::ostream& os, errc x) {
  return os << to_string(x);
}

} // namespace crust

namespace crust::test {

/// The bytes of `digits`, two hex digits (either case) per byte. Fails the
/// test case on an odd length or a character that is not a hex digit.
inline byte_buffer from_hex(const std::string& digits) {
  byte_buffer out;
  bool valid = digits.size() % 2 == 0;
  for (size_t i = 0; valid && i < digits.size(); i += 2) {
    auto hi = hex::value(digits[i]);
    auto lo = hex::value(digits[i + 1]);
    valid = hi >= 0 && lo >= 0;
    if (valid)
      out.push_back(static_cast<uint8_t>(hi * 16 + lo));
  }
  BOOST_REQUIRE_MESSAGE(valid, "not hex bytes: \"" << digits << '"');
  return out;
}

/// A 32-byte key from 64 hex digits; fails the test case on any other size.
inline noise::key32 key_from_hex(const std::string& digits) {
  noise::key32 k{};
  auto bytes = from_hex(digits);
  BOOST_REQUIRE_EQUAL(bytes.size(), k.size());
  std::copy(bytes.begin(), bytes.end(), k.begin());
  return k;
}

/// The characters of `str` as bytes.
inline byte_buffer bytes_of(const std::string& str) {
  return byte_buffer(str.begin(), str.end());
}

} // namespace crust::test
