// Bodies of service frames (transport/codec/service_message.hpp): round
// trips, the limits the encoders apply, and every way a body can be wrong.

#include "crust/transport/codec/service_message.hpp"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

using namespace crust;
using namespace crust::codec;

namespace {

peer_id pid(uint8_t seed) {
  peer_id::bytes_type bytes{};
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<uint8_t>(seed + i);
  return peer_id{bytes};
}

bool malformed(const failure& f) {
  return f.code == errc::malformed_message;
}

} // namespace

BOOST_AUTO_TEST_SUITE(service_message_tests)

BOOST_AUTO_TEST_CASE(bodies_round_trip) {
  bootstrap_request_body req{bootstrap_role::client,
                             {"127.0.0.1:5483", "[::1]:5483"}};
  auto r = decode_bootstrap_request(encode(req));
  BOOST_REQUIRE(r);
  BOOST_CHECK(r->role == bootstrap_role::client);
  BOOST_CHECK(r->endpoints == req.endpoints);

  auto d = decode_bootstrap_deny(
    encode(bootstrap_deny_body{errc::not_reachable, "no answer"}));
  BOOST_REQUIRE(d);
  BOOST_CHECK(d->reason == errc::not_reachable);
  BOOST_CHECK_EQUAL(d->text, "no answer");

  auto e = decode_echo_request(encode(echo_request_body{0x0102030405060708}));
  BOOST_REQUIRE(e);
  BOOST_CHECK_EQUAL(e->nonce, 0x0102030405060708u);

  auto er = decode_echo_reply(encode(echo_reply_body{7, "10.0.0.1:999"}));
  BOOST_REQUIRE(er);
  BOOST_CHECK_EQUAL(er->nonce, 7u);
  BOOST_CHECK_EQUAL(er->observed, "10.0.0.1:999");

  gossip_body g;
  g.contacts.push_back({pid(1), {"127.0.0.1:1"}});
  g.contacts.push_back({pid(2), {}});
  auto gg = decode_gossip(encode(g));
  BOOST_REQUIRE(gg);
  BOOST_REQUIRE_EQUAL(gg->contacts.size(), 2u);
  BOOST_CHECK(gg->contacts[0].peer == pid(1));
  BOOST_CHECK(gg->contacts[1].endpoints.empty());

  BOOST_CHECK(decode_empty(encode_empty()));
}

BOOST_AUTO_TEST_CASE(encoders_cut_to_the_limits) {
  bootstrap_request_body req;
  for (int i = 0; i < 20; ++i)
    req.endpoints.push_back("127.0.0.1:" + std::to_string(1000 + i));
  auto r = decode_bootstrap_request(encode(req));
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->endpoints.size(), max_service_endpoints);

  gossip_body g;
  for (int i = 0; i < 50; ++i)
    g.contacts.push_back({pid(static_cast<uint8_t>(i + 1)), {"127.0.0.1:1"}});
  auto gg = decode_gossip(encode(g));
  BOOST_REQUIRE(gg);
  BOOST_CHECK_EQUAL(gg->contacts.size(), max_gossip_contacts);

  auto d = decode_bootstrap_deny(
    encode(bootstrap_deny_body{errc::not_accepting, std::string(1000, 'x')}));
  BOOST_REQUIRE(d);
  BOOST_CHECK_EQUAL(d->text.size(), max_deny_text);
}

BOOST_AUTO_TEST_CASE(bad_bodies_fail_with_a_reason) {
  // Empty, another version, truncated, a trailing byte.
  BOOST_CHECK(malformed(decode_echo_request({}).error()));
  auto v2 = encode(echo_request_body{1});
  v2[0] = 2;
  BOOST_CHECK(decode_echo_request(v2).error().code == errc::unknown_version);
  auto cut = encode(echo_request_body{1});
  cut.pop_back();
  BOOST_CHECK(malformed(decode_echo_request(cut).error()));
  auto longer = encode(echo_request_body{1});
  longer.push_back(0);
  BOOST_CHECK(malformed(decode_echo_request(longer).error()));
  auto grant = encode_empty();
  grant.push_back(1);
  BOOST_CHECK(!decode_empty(grant));
  // Unknown role, unknown deny reason, bad endpoint text.
  byte_buffer role{service_message_version, 9, 0};
  BOOST_CHECK(malformed(decode_bootstrap_request(role).error()));
  byte_buffer deny{service_message_version,
                   static_cast<uint8_t>(errc::decrypt_failed), 0};
  BOOST_CHECK(malformed(decode_bootstrap_deny(deny).error()));
  auto bad_ep
    = encode(bootstrap_request_body{bootstrap_role::node, {"not an address"}});
  BOOST_CHECK(malformed(decode_bootstrap_request(bad_ep).error()));
  BOOST_CHECK(
    malformed(decode_echo_reply(encode(echo_reply_body{1, "x"})).error()));
  // Too many endpoints or contacts declared, a zero peer id.
  byte_buffer many{service_message_version, 1,
                   static_cast<uint8_t>(max_service_endpoints + 1)};
  BOOST_CHECK(malformed(decode_bootstrap_request(many).error()));
  byte_buffer crowd{service_message_version,
                    static_cast<uint8_t>(max_gossip_contacts + 1)};
  BOOST_CHECK(malformed(decode_gossip(crowd).error()));
  byte_buffer zero(2 + peer_id::size + 1, 0);
  zero[0] = service_message_version;
  zero[1] = 1;
  BOOST_CHECK(malformed(decode_gossip(zero).error()));
}

BOOST_AUTO_TEST_CASE(every_truncation_of_a_gossip_fails_cleanly) {
  gossip_body g;
  g.contacts.push_back({pid(1), {"127.0.0.1:1", "[::1]:2"}});
  g.contacts.push_back({pid(9), {"10.0.0.1:3"}});
  auto wire = encode(g);
  for (size_t n = 0; n < wire.size(); ++n) {
    byte_buffer part(wire.begin(), wire.begin() + static_cast<long>(n));
    BOOST_CHECK(!decode_gossip(part));
  }
  BOOST_CHECK(decode_gossip(wire));
}

BOOST_AUTO_TEST_SUITE_END()
