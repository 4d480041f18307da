#include "crust/transport/noise/datagram_codec.hpp"

#include "support/engine_test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <string>
#include <vector>

using namespace crust;
using namespace crust::noise;

namespace {

key32 fixed_key(uint8_t seed) {
  key32 k{};
  for (size_t i = 0; i < k.size(); ++i)
    k[i] = static_cast<uint8_t>(seed + i * 7);
  return k;
}

cipher_state keyed(cipher_kind c, uint8_t seed) {
  cipher_state cs{c};
  cs.initialize_key(fixed_key(seed));
  return cs;
}

struct fixture {
  cipher_kind cipher = cipher_kind::chacha_poly;
  datagram_codec alice{keyed(cipher, 1), keyed(cipher, 2)};
  datagram_codec bob{keyed(cipher, 2), keyed(cipher, 1)};
  byte_buffer ad{0xC0, 0x11, 0xEC, 0x7D};

  byte_buffer packet(const std::string& text) {
    byte_buffer out;
    byte_buffer msg(text.begin(), text.end());
    BOOST_REQUIRE(alice.seal(ad, msg, out));
    return out;
  }

  expected<uint64_t> deliver(const byte_buffer& pkt, byte_buffer& out) {
    return bob.open(ad, pkt, out);
  }

  errc deliver_code(const byte_buffer& pkt) {
    byte_buffer out;
    auto res = deliver(pkt, out);
    if (res)
      return errc::none;
    BOOST_CHECK(out.empty());
    return res.error().code;
  }
};

std::string text_of(const byte_buffer& buf) {
  return std::string(buf.begin(), buf.end());
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(datagram_codec_tests, fixture)

BOOST_AUTO_TEST_CASE(layout_and_round_trip) {
  auto pkt = packet("hello");
  BOOST_REQUIRE_EQUAL(pkt.size(), datagram_codec::overhead + 5);
  for (size_t i = 0; i < 8; ++i)
    BOOST_CHECK_EQUAL(pkt[i], 0); // packet number 0, big endian
  auto pkt2 = packet("again");
  BOOST_CHECK_EQUAL(pkt2[7], 1);
  byte_buffer out;
  auto n = deliver(pkt, out);
  BOOST_REQUIRE(n);
  BOOST_CHECK_EQUAL(*n, 0u);
  BOOST_CHECK_EQUAL(text_of(out), "hello");
  out.clear();
  n = deliver(pkt2, out);
  BOOST_REQUIRE(n);
  BOOST_CHECK_EQUAL(*n, 1u);
  BOOST_CHECK_EQUAL(text_of(out), "again");
}

BOOST_AUTO_TEST_CASE(empty_payload) {
  auto pkt = packet("");
  byte_buffer out;
  BOOST_CHECK(deliver(pkt, out));
  BOOST_CHECK(out.empty());
}

BOOST_AUTO_TEST_CASE(out_of_order_within_window_and_duplicates) {
  std::vector<byte_buffer> pkts;
  for (int i = 0; i < 100; ++i)
    pkts.push_back(packet("p" + std::to_string(i)));
  for (int i : {99, 3, 50, 0, 98, 1}) {
    byte_buffer out;
    auto n = deliver(pkts[i], out);
    BOOST_REQUIRE(n);
    BOOST_CHECK_EQUAL(*n, static_cast<uint64_t>(i));
    BOOST_CHECK_EQUAL(text_of(out), "p" + std::to_string(i));
  }
  BOOST_CHECK_EQUAL(deliver_code(pkts[50]), errc::replayed_packet);
  BOOST_CHECK_EQUAL(deliver_code(pkts[99]), errc::replayed_packet);
  BOOST_CHECK_EQUAL(deliver_code(pkts[2]), errc::none);
}

BOOST_AUTO_TEST_CASE(too_old_is_rejected) {
  auto old = packet("old");
  alice.skip_packet_numbers_to(replay_window::window_size + 10);
  BOOST_CHECK_EQUAL(deliver_code(packet("new")), errc::none);
  BOOST_CHECK_EQUAL(deliver_code(old), errc::packet_too_old);
}

BOOST_AUTO_TEST_CASE(window_slides_across_large_jumps) {
  std::vector<byte_buffer> early;
  for (int i = 0; i < 10; ++i)
    early.push_back(packet("e"));
  BOOST_CHECK_EQUAL(deliver_code(early[9]), errc::none);
  alice.skip_packet_numbers_to(uint64_t{1} << 40);
  auto a = packet("a");
  auto b = packet("b");
  BOOST_CHECK_EQUAL(deliver_code(b), errc::none);
  BOOST_CHECK_EQUAL(deliver_code(a), errc::none);
  BOOST_CHECK_EQUAL(deliver_code(early[3]), errc::packet_too_old);
  BOOST_CHECK_EQUAL(bob.window().highest(), (uint64_t{1} << 40) + 1);
}

BOOST_AUTO_TEST_CASE(forged_packets_do_not_move_the_window) {
  auto first = packet("first");
  alice.skip_packet_numbers_to(1000000);
  auto late = packet("late");
  // Flip a ciphertext bit of a far-ahead packet: the tag fails.
  auto forged = late;
  forged.back() ^= 0x01;
  BOOST_CHECK_EQUAL(deliver_code(forged), errc::decrypt_failed);
  // Rewrite the packet number of a genuine packet: the nonce differs.
  auto renumbered = first;
  renumbered[0] = 0x7F;
  BOOST_CHECK_EQUAL(deliver_code(renumbered), errc::decrypt_failed);
  BOOST_CHECK(bob.window().empty());
  // So the genuine old packet is still accepted, then the genuine new one.
  BOOST_CHECK_EQUAL(deliver_code(first), errc::none);
  BOOST_CHECK_EQUAL(deliver_code(late), errc::none);
  // Known numbers are refused before any decryption work.
  BOOST_CHECK_EQUAL(deliver_code(forged), errc::replayed_packet);
  BOOST_CHECK_EQUAL(deliver_code(late), errc::replayed_packet);
}

BOOST_AUTO_TEST_CASE(additional_data_is_authenticated) {
  auto pkt = packet("x");
  byte_buffer out;
  byte_buffer other_ad{0xC0, 0x11, 0xEC, 0x7E};
  auto res = bob.open(other_ad, pkt, out);
  BOOST_REQUIRE(!res);
  BOOST_CHECK_EQUAL(res.error().code, errc::decrypt_failed);
  BOOST_CHECK(out.empty());
  BOOST_CHECK(bob.window().empty());
  BOOST_CHECK_EQUAL(deliver_code(pkt), errc::none);
}

BOOST_AUTO_TEST_CASE(short_packets_are_malformed) {
  auto pkt = packet("");
  for (size_t len = 0; len < pkt.size(); ++len) {
    byte_buffer cut(pkt.begin(), pkt.begin() + static_cast<ptrdiff_t>(len));
    BOOST_CHECK_EQUAL(deliver_code(cut), errc::malformed_message);
  }
}

BOOST_AUTO_TEST_CASE(wrong_key_fails) {
  datagram_codec mallory{keyed(cipher, 9), keyed(cipher, 9)};
  byte_buffer pkt;
  byte_buffer msg{1, 2, 3};
  BOOST_REQUIRE(mallory.seal(ad, msg, pkt));
  BOOST_CHECK_EQUAL(deliver_code(pkt), errc::decrypt_failed);
}

BOOST_AUTO_TEST_CASE(nonce_ceiling) {
  constexpr auto ceiling = datagram_codec::reject_after_messages;
  BOOST_CHECK_EQUAL(ceiling, UINT64_MAX - (uint64_t{1} << 13));
  alice.skip_packet_numbers_to(ceiling - 2);
  auto a = packet("a");
  auto b = packet("b");
  byte_buffer out{0xAA};
  byte_buffer msg{1};
  auto res = alice.seal(ad, msg, out);
  BOOST_CHECK_EQUAL(res.code(), errc::nonce_exhausted);
  BOOST_CHECK_EQUAL(out.size(), 1u); // nothing appended
  BOOST_CHECK_EQUAL(alice.next_packet_number(), ceiling);
  // Never backwards.
  alice.skip_packet_numbers_to(0);
  BOOST_CHECK_EQUAL(alice.next_packet_number(), ceiling);
  BOOST_CHECK_EQUAL(deliver_code(a), errc::none);
  BOOST_CHECK_EQUAL(deliver_code(b), errc::none);
  // A receiver refuses numbers at or past the ceiling before decrypting.
  auto beyond = b;
  for (size_t i = 0; i < 8; ++i)
    beyond[i] = 0xFF;
  BOOST_CHECK_EQUAL(deliver_code(beyond), errc::malformed_message);
}

BOOST_AUTO_TEST_CASE(oversized_plaintext_is_refused) {
  byte_buffer big(65535 - 16 + 1, 0x42);
  byte_buffer out;
  BOOST_CHECK_EQUAL(alice.seal(ad, big, out).code(), errc::message_too_large);
  BOOST_CHECK(out.empty());
  big.pop_back();
  BOOST_CHECK(alice.seal(ad, big, out));
  byte_buffer plain;
  BOOST_CHECK(bob.open(ad, out, plain));
  BOOST_CHECK(plain == big);
}

BOOST_AUTO_TEST_CASE(aes_gcm_suite) {
  datagram_codec x{keyed(cipher_kind::aes_gcm, 5),
                   keyed(cipher_kind::aes_gcm, 6)};
  datagram_codec y{keyed(cipher_kind::aes_gcm, 6),
                   keyed(cipher_kind::aes_gcm, 5)};
  byte_buffer pkt;
  byte_buffer msg{9, 8, 7};
  BOOST_REQUIRE(x.seal(ad, msg, pkt));
  byte_buffer plain;
  BOOST_REQUIRE(y.open(ad, pkt, plain));
  BOOST_CHECK(plain == msg);
}

BOOST_AUTO_TEST_SUITE_END()
