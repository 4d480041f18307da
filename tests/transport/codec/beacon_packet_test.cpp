#include "crust/transport/codec/beacon_packet.hpp"

#include "support/engine_test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

using namespace crust;
using namespace crust::beacon;

namespace {

peer_id pid(uint8_t n) {
  peer_id::bytes_type bytes{};
  bytes.fill(n);
  return peer_id{bytes};
}

endpoint ep(const std::string& text) {
  auto res = endpoint::parse(text);
  BOOST_REQUIRE_MESSAGE(res, text);
  return *res;
}

reply sample_reply() {
  reply x;
  x.network = hash_network_name("net");
  x.nonce = 0x0102030405060708;
  x.id = pid(7);
  x.endpoints = {ep("192.0.2.1:5483"), ep("udp://192.0.2.1:5483"),
                 ep("[2001:db8::1]:9"), ep("udp://[::1]:65535")};
  return x;
}

/// Decodes `bytes`, which must fail with `code` and `part` in the detail.
void check_refused(const byte_buffer& bytes, errc code,
                   const std::string& part) {
  auto res = decode(bytes);
  BOOST_REQUIRE_MESSAGE(!res, "decoded " << bytes.size() << " bytes");
  BOOST_CHECK_EQUAL(res.error().code, code);
  BOOST_CHECK_MESSAGE(res.error().detail.find(part) != std::string::npos,
                      '"' << res.error().detail << "\" lacks \"" << part
                          << '"');
}

} // namespace

BOOST_AUTO_TEST_SUITE(beacon_packet)

BOOST_AUTO_TEST_CASE(network_hashes_differ_by_name) {
  BOOST_CHECK(hash_network_name("a") == hash_network_name("a"));
  BOOST_CHECK(hash_network_name("a") != hash_network_name("b"));
  BOOST_CHECK(hash_network_name("") != hash_network_name("a"));
}

BOOST_AUTO_TEST_CASE(request_round_trip_and_layout) {
  request x{hash_network_name("net"), 0xdeadbeefcafef00d};
  auto bytes = encode(x);
  BOOST_REQUIRE_EQUAL(bytes.size(), request_size);
  BOOST_CHECK_EQUAL(bytes[0], version);
  BOOST_CHECK_EQUAL(bytes[1], 1);
  BOOST_CHECK_EQUAL(bytes[2 + hash_size], 0xde);
  BOOST_CHECK_EQUAL(bytes[2 + hash_size + 7], 0x0d);
  auto back = decode(bytes);
  BOOST_REQUIRE(back);
  BOOST_REQUIRE(std::holds_alternative<request>(*back));
  BOOST_CHECK(std::get<request>(*back) == x);
}

BOOST_AUTO_TEST_CASE(reply_round_trip_and_layout) {
  auto x = sample_reply();
  auto bytes = encode(x);
  BOOST_REQUIRE(bytes);
  BOOST_CHECK_EQUAL(bytes->size(), reply_header_size + 7 + 7 + 19 + 19);
  BOOST_CHECK_EQUAL((*bytes)[1], 2);
  BOOST_CHECK_EQUAL((*bytes)[reply_header_size - 1], 4);
  BOOST_CHECK_EQUAL((*bytes)[reply_header_size], 0x14);
  BOOST_CHECK_EQUAL((*bytes)[reply_header_size + 7], 0x24);
  BOOST_CHECK_EQUAL((*bytes)[reply_header_size + 14], 0x16);
  auto back = decode(*bytes);
  BOOST_REQUIRE(back);
  BOOST_REQUIRE(std::holds_alternative<reply>(*back));
  BOOST_CHECK(std::get<reply>(*back) == x);
}

BOOST_AUTO_TEST_CASE(reply_never_amplifies_a_request) {
  reply x = sample_reply();
  x.endpoints.clear();
  for (int n = 1; n <= 40; ++n)
    x.endpoints.push_back(ep("[2001:db8::" + std::to_string(n) + "]:1"));
  auto bytes = encode(x);
  BOOST_REQUIRE(bytes);
  BOOST_CHECK_EQUAL(bytes->size(), max_reply_size);
  BOOST_CHECK_LE(static_cast<double>(bytes->size()),
                 max_amplification * static_cast<double>(request_size));
  auto back = decode(*bytes);
  BOOST_REQUIRE(back);
  auto& got = std::get<reply>(*back).endpoints;
  BOOST_REQUIRE_EQUAL(got.size(), max_reply_endpoints);
  // The most preferred ones are kept.
  BOOST_CHECK(got.front() == x.endpoints.front());
  BOOST_CHECK(got.back() == x.endpoints[max_reply_endpoints - 1]);
}

BOOST_AUTO_TEST_CASE(reply_leaves_unusable_endpoints_out) {
  reply x = sample_reply();
  endpoint unspecified;
  unspecified.port = 1;
  x.endpoints = {ep("192.0.2.1:1"), unspecified, ep("192.0.2.1:1")};
  auto back = decode(*encode(x));
  BOOST_REQUIRE(back);
  BOOST_CHECK(std::get<reply>(*back).endpoints
              == std::vector<endpoint>{ep("192.0.2.1:1")});
  x.id = peer_id{};
  BOOST_CHECK(!encode(x));
}

BOOST_AUTO_TEST_CASE(malformed_packets_are_refused) {
  auto req = encode(request{hash_network_name("net"), 1});
  auto rep = *encode(sample_reply());
  check_refused({}, errc::malformed_message, "truncated");
  check_refused(byte_buffer(10, 1), errc::malformed_message, "truncated");
  auto v2 = req;
  v2[0] = 2;
  check_refused(v2, errc::unknown_version, "version 2");
  auto kind = req;
  kind[1] = 9;
  check_refused(kind, errc::malformed_message, "unknown kind 9");
  auto short_req = req;
  short_req.pop_back();
  check_refused(short_req, errc::malformed_message, "a request has 256");
  auto long_req = req;
  long_req.push_back(0);
  check_refused(long_req, errc::malformed_message, "a request has 256");
  auto padded = req;
  padded.back() = 1;
  check_refused(padded, errc::malformed_message, "non-zero padding");
  // Replies: every proper prefix is refused.
  for (size_t n = 0; n < rep.size(); ++n)
    BOOST_CHECK(!decode(byte_buffer(rep.begin(), rep.begin() + n)));
  auto trailing = rep;
  trailing.push_back(0);
  check_refused(trailing, errc::malformed_message, "trailing");
  auto zero_id = rep;
  std::fill(zero_id.begin() + 42, zero_id.begin() + 74, 0);
  check_refused(zero_id, errc::malformed_message, "zero peer id");
  auto too_many = rep;
  too_many[reply_header_size - 1] = max_reply_endpoints + 1;
  check_refused(too_many, errc::malformed_message, "too many endpoints");
  auto overstated = rep;
  overstated[reply_header_size - 1] = 16;
  check_refused(overstated, errc::malformed_message, "truncated");
  auto bad_tag = rep;
  bad_tag[reply_header_size] = 0x15;
  check_refused(bad_tag, errc::malformed_message, "unknown tag");
  auto port0 = rep;
  port0[reply_header_size + 5] = 0;
  port0[reply_header_size + 6] = 0;
  check_refused(port0, errc::malformed_message, "port 0");
  auto unspecified = rep;
  std::fill(unspecified.begin() + reply_header_size + 1,
            unspecified.begin() + reply_header_size + 5, 0);
  check_refused(unspecified, errc::malformed_message, "unspecified");
  auto dup = rep;
  // Make the second record (UDP v4) a copy of the first (TCP v4).
  dup[reply_header_size + 7] = 0x14;
  check_refused(dup, errc::malformed_message, "duplicate");
}

BOOST_AUTO_TEST_SUITE_END()
