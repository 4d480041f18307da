// The rUDP SESSION's envelope (transport/codec/session_envelope.hpp): every
// kind round-trips, and every malformed message is refused with a reason.

#include "crust/transport/codec/session_envelope.hpp"
#include "crust/transport/noise/frame_codec.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

using namespace crust;
using namespace crust::codec;

namespace {

/// The error detail of a refused envelope (fails the test if it decodes).
std::string refusal(byte_buffer bytes) {
  auto res = unwrap(std::move(bytes));
  BOOST_REQUIRE(!res);
  BOOST_CHECK(res.error().code == errc::malformed_message);
  return res.error().detail;
}

} // namespace

BOOST_AUTO_TEST_SUITE(session_envelope_suite)

BOOST_AUTO_TEST_CASE(a_message_round_trips_with_one_byte_of_overhead) {
  byte_buffer payload{1, 2, 3, 0, 255};
  auto wrapped = wrap_message(byte_buffer{payload});
  BOOST_CHECK_EQUAL(wrapped.size(), payload.size() + message_envelope_overhead);
  auto res = unwrap(std::move(wrapped));
  BOOST_REQUIRE(res);
  BOOST_CHECK(res->kind == envelope_kind::message);
  BOOST_CHECK(res->body == payload);
  // An empty message is a message too.
  res = unwrap(wrap_message(byte_buffer{}));
  BOOST_REQUIRE(res);
  BOOST_CHECK(res->kind == envelope_kind::message);
  BOOST_CHECK(res->body.empty());
}

BOOST_AUTO_TEST_CASE(choose_and_service_frames_round_trip) {
  auto res = unwrap(wrap_choose());
  BOOST_REQUIRE(res);
  BOOST_CHECK(res->kind == envelope_kind::choose);
  byte_buffer body(noise::max_service_body, 0x5a);
  auto wrapped = wrap_service(0x0102, body);
  BOOST_CHECK_EQUAL(wrapped[1], 0x01); // big-endian kind
  BOOST_CHECK_EQUAL(wrapped[2], 0x02);
  res = unwrap(std::move(wrapped));
  BOOST_REQUIRE(res);
  BOOST_CHECK(res->kind == envelope_kind::service);
  BOOST_CHECK_EQUAL(res->service_kind, 0x0102);
  BOOST_CHECK(res->body == body);
  res = unwrap(wrap_service(6, byte_buffer{}));
  BOOST_REQUIRE(res);
  BOOST_CHECK(res->body.empty());
}

BOOST_AUTO_TEST_CASE(malformed_envelopes_are_refused_with_a_reason) {
  BOOST_CHECK_NE(refusal({}).find("empty"), std::string::npos);
  BOOST_CHECK_NE(refusal({3}).find("unknown kind 3"), std::string::npos);
  BOOST_CHECK_NE(refusal({255, 1}).find("unknown kind"), std::string::npos);
  BOOST_CHECK_NE(refusal({1, 0}).find("choose with a body"), std::string::npos);
  BOOST_CHECK_NE(refusal({2}).find("shorter"), std::string::npos);
  BOOST_CHECK_NE(refusal({2, 0}).find("shorter"), std::string::npos);
  BOOST_CHECK_NE(refusal({2, 0, 0}).find("kind 0"), std::string::npos);
  byte_buffer big(service_envelope_overhead + noise::max_service_body + 1, 1);
  big[0] = 2;
  BOOST_CHECK_NE(refusal(big).find("more than"), std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
