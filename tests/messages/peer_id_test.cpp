#include "crust/messages/peer_id.hpp"
#include "crust/messages/type_ids.hpp"

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/deep_to_string.hpp>

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

using crust::errc;
using crust::peer_id;

namespace {

const std::string sample_hex
  = "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210";

peer_id sample() {
  auto x = peer_id::parse(sample_hex);
  BOOST_REQUIRE(x);
  return *x;
}

} // namespace

BOOST_AUTO_TEST_SUITE(peer_id_suite)

BOOST_AUTO_TEST_CASE(default_is_zero) {
  peer_id x;
  BOOST_CHECK(x.is_zero());
  BOOST_CHECK_EQUAL(x.to_hex(), std::string(64, '0'));
  BOOST_CHECK(!sample().is_zero());
}

BOOST_AUTO_TEST_CASE(round_trip) {
  auto x = sample();
  BOOST_CHECK_EQUAL(x.bytes()[0], 0x00);
  BOOST_CHECK_EQUAL(x.bytes()[1], 0x11);
  BOOST_CHECK_EQUAL(x.bytes()[15], 0xff);
  BOOST_CHECK_EQUAL(x.bytes()[31], 0x10);
  BOOST_CHECK_EQUAL(x.to_hex(), sample_hex);
  BOOST_CHECK_EQUAL(to_string(x), sample_hex);
  BOOST_CHECK_EQUAL(x.short_hex(), "00112233");
  auto y = peer_id::parse(x.to_hex());
  BOOST_REQUIRE(y);
  BOOST_CHECK(*y == x);
  peer_id::bytes_type bytes{};
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<uint8_t>(0xff - i);
  peer_id z{bytes};
  auto w = peer_id::parse(z.to_hex());
  BOOST_REQUIRE(w);
  BOOST_CHECK(*w == z);
}

BOOST_AUTO_TEST_CASE(upper_case_is_accepted_and_printed_lower) {
  std::string upper;
  for (auto c : sample_hex)
    upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto x = peer_id::parse(upper);
  BOOST_REQUIRE(x);
  BOOST_CHECK(*x == sample());
  BOOST_CHECK_EQUAL(x->to_hex(), sample_hex);
  auto mixed = sample_hex;
  mixed[20] = 'A';
  mixed[21] = 'a';
  auto y = peer_id::parse(mixed);
  BOOST_REQUIRE(y);
  BOOST_CHECK_EQUAL(y->bytes()[10], 0xaa);
}

BOOST_AUTO_TEST_CASE(wrong_lengths_are_refused) {
  for (size_t n : {0u, 1u, 8u, 62u, 63u, 65u, 66u, 128u}) {
    auto x = peer_id::parse(std::string(n, 'a'));
    BOOST_REQUIRE(!x);
    BOOST_CHECK(x.error() == errc::bad_peer_id);
    BOOST_CHECK_EQUAL(x.error().detail,
                      "expected 64 hex characters, got " + std::to_string(n));
  }
}

BOOST_AUTO_TEST_CASE(bad_characters_are_refused_with_their_position) {
  struct sample_case {
    size_t pos;
    char c;
    std::string shown;
  };
  std::vector<sample_case> cases{{0, 'x', "x"},     {7, 'g', "g"},
                                 {63, 'G', "G"},    {31, ' ', " "},
                                 {12, '-', "-"},    {5, '\n', "\\x0a"},
                                 {9, '\0', "\\x00"}};
  for (const auto& c : cases) {
    auto hex = sample_hex;
    hex[c.pos] = c.c;
    auto x = peer_id::parse(hex);
    BOOST_REQUIRE(!x);
    BOOST_CHECK(x.error() == errc::bad_peer_id);
    BOOST_CHECK_EQUAL(x.error().detail, "invalid character '" + c.shown
                                          + "' at position "
                                          + std::to_string(c.pos));
  }
  auto x = peer_id::parse(std::string(64, 'z'));
  BOOST_REQUIRE(!x);
  BOOST_CHECK_EQUAL(x.error().message(),
                    "malformed peer id: invalid character 'z' at position 0");
}

BOOST_AUTO_TEST_CASE(ordering_and_hashing) {
  auto a = *peer_id::parse(std::string(63, '0') + "1");
  auto b = *peer_id::parse("1" + std::string(63, '0'));
  BOOST_CHECK(a < b);
  BOOST_CHECK(b > a);
  BOOST_CHECK(a <= a);
  BOOST_CHECK(a >= a);
  BOOST_CHECK(a != b);
  BOOST_CHECK(!(a == b));
  std::unordered_set<peer_id> set{a, b, sample(), a};
  BOOST_CHECK_EQUAL(set.size(), 3u);
  BOOST_CHECK(set.count(b) == 1);
  BOOST_CHECK(std::hash<peer_id>{}(a) != std::hash<peer_id>{}(b));
}

BOOST_AUTO_TEST_CASE(caf_prints_and_serializes_it) {
  auto x = sample();
  BOOST_CHECK_EQUAL(caf::deep_to_string(x), sample_hex);
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  BOOST_REQUIRE(!sink(x));
  BOOST_CHECK_EQUAL(buf.size(), 32u);
  peer_id y;
  caf::binary_deserializer source{nullptr, buf};
  BOOST_REQUIRE(!source(y));
  BOOST_CHECK(x == y);
}

BOOST_AUTO_TEST_SUITE_END()
