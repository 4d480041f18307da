#include "crust/transport/noise/cipher_state.hpp"

#include "support/engine_test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <ostream>
#include <string>

namespace crust::noise {

std::ostream& operator<<(std::ostream& os, cipher_kind x) {
  return os << to_string(x);
}

} // namespace crust::noise

using namespace crust;
using namespace crust::noise;
using namespace crust::test;

namespace {

key32 counting_key() {
  key32 k{};
  for (size_t i = 0; i < k.size(); ++i)
    k[i] = static_cast<uint8_t>(i);
  return k;
}

cipher_state keyed(cipher_kind cipher, const key32& k = counting_key()) {
  cipher_state cs{cipher};
  cs.initialize_key(k);
  return cs;
}

} // namespace

BOOST_AUTO_TEST_SUITE(cipher_state_suite)

// Known answers computed independently (Python `cryptography`) with key
// 00..1f, nonce 0x0102030405060708, AD "crust", plaintext "nonce byte order".
// A little/big endian mix-up of the 64-bit counter changes every byte.
BOOST_AUTO_TEST_CASE(nonce_byte_order_chachapoly_is_little_endian) {
  auto cs = keyed(cipher_kind::chacha_poly);
  cs.set_nonce(0x0102030405060708);
  byte_buffer out;
  BOOST_REQUIRE(
    cs.encrypt_with_ad(bytes_of("crust"), bytes_of("nonce byte order"), out));
  BOOST_TEST(out
               == from_hex("9e26c387ce19886110ce0aa3011c04ca5b5a15bf1ac4a2"
                           "1435a691e70bd3869c"),
             boost::test_tools::per_element());
  BOOST_TEST(cs.nonce() == 0x0102030405060709u);
}

BOOST_AUTO_TEST_CASE(nonce_byte_order_aesgcm_is_big_endian) {
  auto cs = keyed(cipher_kind::aes_gcm);
  cs.set_nonce(0x0102030405060708);
  byte_buffer out;
  BOOST_REQUIRE(
    cs.encrypt_with_ad(bytes_of("crust"), bytes_of("nonce byte order"), out));
  BOOST_TEST(out
               == from_hex("6a3e0b6db8c16be777fadd806c035c82418ff5fe74d0cb"
                           "69adba6820e92262b4"),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(roundtrip_both_ciphers) {
  for (auto cipher : {cipher_kind::chacha_poly, cipher_kind::aes_gcm}) {
    auto tx = keyed(cipher);
    auto rx = keyed(cipher);
    for (int i = 0; i < 5; ++i) {
      auto msg = bytes_of("message " + std::to_string(i));
      byte_buffer ct;
      BOOST_REQUIRE(tx.encrypt_with_ad(bytes_of("ad"), msg, ct));
      BOOST_TEST(ct.size() == msg.size() + tag_len);
      byte_buffer pt;
      BOOST_REQUIRE(rx.decrypt_with_ad(bytes_of("ad"), ct, pt));
      BOOST_TEST(pt == msg, boost::test_tools::per_element());
    }
    BOOST_TEST(tx.nonce() == 5u);
    BOOST_TEST(rx.nonce() == 5u);
    // Empty plaintext: just a tag.
    byte_buffer ct;
    BOOST_REQUIRE(tx.encrypt_with_ad({}, {}, ct));
    BOOST_TEST(ct.size() == tag_len);
    byte_buffer pt;
    BOOST_REQUIRE(rx.decrypt_with_ad({}, ct, pt));
    BOOST_TEST(pt.empty());
  }
}

BOOST_AUTO_TEST_CASE(encrypt_appends_to_out) {
  auto tx = keyed(cipher_kind::chacha_poly);
  auto rx = keyed(cipher_kind::chacha_poly);
  byte_buffer out = bytes_of("prefix");
  BOOST_REQUIRE(tx.encrypt_with_ad({}, bytes_of("hello"), out));
  BOOST_TEST(out.size() == 6 + 5 + tag_len);
  byte_buffer pt = bytes_of("head:");
  BOOST_REQUIRE(rx.decrypt_with_ad({}, const_byte_span{out}.subspan(6), pt));
  BOOST_TEST(pt == bytes_of("head:hello"), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(nonce_exhaustion) {
  for (auto cipher : {cipher_kind::chacha_poly, cipher_kind::aes_gcm}) {
    auto tx = keyed(cipher);
    auto rx = keyed(cipher);
    tx.set_nonce(UINT64_MAX - 1);
    rx.set_nonce(UINT64_MAX - 1);
    byte_buffer ct;
    BOOST_REQUIRE(tx.encrypt_with_ad({}, bytes_of("last"), ct));
    BOOST_TEST(tx.nonce() == UINT64_MAX);
    byte_buffer pt;
    BOOST_REQUIRE(rx.decrypt_with_ad({}, ct, pt));
    BOOST_TEST(rx.nonce() == UINT64_MAX);
    // 2^64-1 is reserved: everything fails from here on.
    byte_buffer more;
    auto st = tx.encrypt_with_ad({}, bytes_of("one more"), more);
    BOOST_TEST(st.code() == errc::nonce_exhausted);
    BOOST_TEST(st.error().detail.find("re-established") != std::string::npos);
    BOOST_TEST(more.empty());
    BOOST_TEST(tx.nonce() == UINT64_MAX);
    BOOST_TEST(rx.decrypt_with_ad({}, ct, pt).code() == errc::nonce_exhausted);
    uint8_t buf[64];
    BOOST_TEST(tx.seal({}, bytes_of("x"), buf).code() == errc::nonce_exhausted);
    BOOST_TEST(rx.open({}, const_byte_span{buf, 17}, buf).code()
               == errc::nonce_exhausted);
    BOOST_TEST(tx.seal_at(UINT64_MAX, {}, bytes_of("x"), buf).code()
               == errc::nonce_exhausted);
    BOOST_TEST(rx.open_at(UINT64_MAX, {}, const_byte_span{buf, 17}, buf).code()
               == errc::nonce_exhausted);
  }
}

BOOST_AUTO_TEST_CASE(failed_decrypt_changes_nothing) {
  for (auto cipher : {cipher_kind::chacha_poly, cipher_kind::aes_gcm}) {
    auto tx = keyed(cipher);
    auto rx = keyed(cipher);
    byte_buffer ct;
    BOOST_REQUIRE(tx.encrypt_with_ad(bytes_of("ad"), bytes_of("secret"), ct));
    byte_buffer out = bytes_of("kept");
    for (size_t i = 0; i < ct.size(); ++i) {
      auto forged = ct;
      forged[i] ^= 0x01;
      auto st = rx.decrypt_with_ad(bytes_of("ad"), forged, out);
      BOOST_TEST(st.code() == errc::decrypt_failed);
      BOOST_TEST(out == bytes_of("kept"), boost::test_tools::per_element());
      BOOST_TEST(rx.nonce() == 0u);
    }
    // Wrong AD, truncated input, too short for a tag.
    BOOST_TEST(rx.decrypt_with_ad(bytes_of("AD"), ct, out).code()
               == errc::decrypt_failed);
    BOOST_TEST(rx.decrypt_with_ad(bytes_of("ad"),
                                  const_byte_span{ct}.subspan(0, ct.size() - 1),
                                  out)
                 .code()
               == errc::decrypt_failed);
    BOOST_TEST(rx.decrypt_with_ad(bytes_of("ad"),
                                  const_byte_span{ct}.subspan(0, 15), out)
                 .code()
               == errc::decrypt_failed);
    BOOST_TEST(out == bytes_of("kept"), boost::test_tools::per_element());
    BOOST_TEST(rx.nonce() == 0u);
    // The genuine message still decrypts: the state is in sync.
    BOOST_REQUIRE(rx.decrypt_with_ad(bytes_of("ad"), ct, out));
    BOOST_TEST(out == bytes_of("keptsecret"), boost::test_tools::per_element());
    BOOST_TEST(rx.nonce() == 1u);
    // The raw-pointer variant keeps the nonce too.
    byte_buffer ct2;
    BOOST_REQUIRE(tx.encrypt_with_ad({}, bytes_of("again"), ct2));
    ct2[0] ^= 0x80;
    uint8_t buf[64];
    BOOST_TEST(rx.open({}, ct2, buf).code() == errc::decrypt_failed);
    BOOST_TEST(rx.nonce() == 1u);
  }
}

// REKEY(k) = ENCRYPT(k, 2^64-1, "", 32 zeros)[0:32], computed independently
// for key 00..1f.
BOOST_AUTO_TEST_CASE(rekey_known_answer_keeps_nonce) {
  struct known {
    cipher_kind cipher;
    const char* next_key;
  };
  const known cases[] = {
    {cipher_kind::chacha_poly,
     "50835543a205b22c9323f2022bc4f67d838f90e61d5ccf33c4513e01f85b5042"},
    {cipher_kind::aes_gcm,
     "0201675c87335949b909793da5bb4d92fcf6d44b92a6e0792b6ae48b1881259d"},
  };
  for (const auto& c : cases) {
    auto cs = keyed(c.cipher);
    cs.set_nonce(7);
    BOOST_REQUIRE(cs.rekey());
    BOOST_TEST(cs.nonce() == 7u);
    BOOST_TEST(cs.has_key());
    auto expected_cs = keyed(c.cipher, key_from_hex(c.next_key));
    expected_cs.set_nonce(7);
    byte_buffer x;
    byte_buffer y;
    BOOST_REQUIRE(cs.encrypt_with_ad({}, bytes_of("after rekey"), x));
    BOOST_REQUIRE(expected_cs.encrypt_with_ad({}, bytes_of("after rekey"), y));
    BOOST_TEST(x == y, boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(rekey_both_sides_stay_in_sync) {
  for (auto cipher : {cipher_kind::chacha_poly, cipher_kind::aes_gcm}) {
    auto tx = keyed(cipher);
    auto rx = keyed(cipher);
    auto old_key = keyed(cipher);
    for (int round = 0; round < 3; ++round) {
      for (int i = 0; i < 4; ++i) {
        byte_buffer ct;
        byte_buffer pt;
        BOOST_REQUIRE(tx.encrypt_with_ad({}, bytes_of("payload"), ct));
        BOOST_REQUIRE(rx.decrypt_with_ad({}, ct, pt));
        BOOST_TEST(pt == bytes_of("payload"), boost::test_tools::per_element());
      }
      auto n = tx.nonce();
      BOOST_REQUIRE(tx.rekey());
      BOOST_REQUIRE(rx.rekey());
      BOOST_TEST(tx.nonce() == n);
      BOOST_TEST(rx.nonce() == n);
      // The key changed: the old key at the same nonce gives other bytes.
      old_key.set_nonce(n);
      byte_buffer with_old;
      byte_buffer with_new;
      BOOST_REQUIRE(old_key.encrypt_with_ad({}, bytes_of("p"), with_old));
      auto tx_nonce = tx.nonce();
      BOOST_REQUIRE(tx.encrypt_with_ad({}, bytes_of("p"), with_new));
      BOOST_TEST(with_old != with_new);
      byte_buffer pt;
      BOOST_REQUIRE(rx.decrypt_with_ad({}, with_new, pt));
      BOOST_TEST(tx.nonce() == tx_nonce + 1);
    }
  }
}

BOOST_AUTO_TEST_CASE(clear_wipes_the_key) {
  auto cs = keyed(cipher_kind::chacha_poly);
  byte_buffer ct;
  BOOST_REQUIRE(cs.encrypt_with_ad({}, bytes_of("x"), ct));
  cs.clear();
  BOOST_TEST(!cs.has_key());
  // Without a key the spec passes plaintext through and keeps n.
  byte_buffer out;
  BOOST_REQUIRE(cs.encrypt_with_ad({}, bytes_of("plain"), out));
  BOOST_TEST(out == bytes_of("plain"), boost::test_tools::per_element());
  BOOST_TEST(cs.nonce() == 0u);
  BOOST_TEST(cs.rekey().code() == errc::handshake_incomplete);
}

BOOST_AUTO_TEST_CASE(no_key_passes_through) {
  cipher_state cs;
  BOOST_TEST(!cs.has_key());
  byte_buffer out;
  BOOST_REQUIRE(cs.encrypt_with_ad(bytes_of("ad"), bytes_of("plain"), out));
  BOOST_TEST(out == bytes_of("plain"), boost::test_tools::per_element());
  byte_buffer back;
  BOOST_REQUIRE(cs.decrypt_with_ad(bytes_of("ad"), out, back));
  BOOST_TEST(back == bytes_of("plain"), boost::test_tools::per_element());
  BOOST_TEST(cs.nonce() == 0u);
}

BOOST_AUTO_TEST_CASE(move_transfers_and_wipes_source) {
  auto a = keyed(cipher_kind::aes_gcm);
  auto rx = keyed(cipher_kind::aes_gcm);
  byte_buffer ct;
  BOOST_REQUIRE(a.encrypt_with_ad({}, bytes_of("1"), ct));
  cipher_state b{std::move(a)};
  BOOST_TEST(!a.has_key()); // NOLINT(bugprone-use-after-move)
  BOOST_TEST(b.has_key());
  BOOST_TEST(b.nonce() == 1u);
  BOOST_TEST(b.cipher() == cipher_kind::aes_gcm);
  byte_buffer ct2;
  BOOST_REQUIRE(b.encrypt_with_ad({}, bytes_of("2"), ct2));
  cipher_state c;
  c = std::move(b);
  BOOST_TEST(!b.has_key()); // NOLINT(bugprone-use-after-move)
  byte_buffer ct3;
  BOOST_REQUIRE(c.encrypt_with_ad({}, bytes_of("3"), ct3));
  byte_buffer pt;
  BOOST_REQUIRE(rx.decrypt_with_ad({}, ct, pt));
  BOOST_REQUIRE(rx.decrypt_with_ad({}, ct2, pt));
  BOOST_REQUIRE(rx.decrypt_with_ad({}, ct3, pt));
  BOOST_TEST(pt == bytes_of("123"), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(seal_open_in_place) {
  for (auto cipher : {cipher_kind::chacha_poly, cipher_kind::aes_gcm}) {
    auto tx = keyed(cipher);
    auto rx = keyed(cipher);
    auto ref = keyed(cipher);
    byte_buffer buf(16 * 1024 + tag_len);
    for (size_t i = 0; i < 16 * 1024; ++i)
      buf[i] = static_cast<uint8_t>(i * 7);
    auto original = byte_buffer(buf.begin(), buf.begin() + 16 * 1024);
    BOOST_REQUIRE(
      tx.seal({}, const_byte_span{buf.data(), 16 * 1024}, buf.data()));
    byte_buffer expected;
    BOOST_REQUIRE(ref.encrypt_with_ad({}, original, expected));
    BOOST_TEST(buf == expected, boost::test_tools::per_element());
    BOOST_REQUIRE(rx.open({}, buf, buf.data()));
    BOOST_TEST(byte_buffer(buf.begin(), buf.begin() + 16 * 1024) == original,
               boost::test_tools::per_element());
    BOOST_TEST(tx.nonce() == 1u);
    BOOST_TEST(rx.nonce() == 1u);
  }
}

BOOST_AUTO_TEST_CASE(split_seal_and_open_match_one_message) {
  // A head byte sealed apart from the payload gives the same bytes as the
  // two sealed together, and opens back into two places; sizes around the
  // 64-byte ChaCha20 block and the 16-byte GCM block.
  for (auto cipher : {cipher_kind::chacha_poly, cipher_kind::aes_gcm}) {
    for (size_t len :
         {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{65471}}) {
      auto tx = keyed(cipher);
      auto rx = keyed(cipher);
      auto ref = keyed(cipher);
      byte_buffer payload(len);
      for (size_t i = 0; i < len; ++i)
        payload[i] = static_cast<uint8_t>(i * 13 + 1);
      const uint8_t head = 0xa5;
      byte_buffer joined{head};
      joined.insert(joined.end(), payload.begin(), payload.end());
      byte_buffer expected;
      BOOST_REQUIRE(ref.encrypt_with_ad(bytes_of("ad"), joined, expected));
      byte_buffer ct(1 + len + tag_len);
      BOOST_REQUIRE(
        tx.seal(bytes_of("ad"), const_byte_span{&head, 1}, payload, ct.data()));
      BOOST_TEST(ct == expected, boost::test_tools::per_element());
      uint8_t got_head = 0;
      byte_buffer got(len);
      BOOST_REQUIRE(rx.open(bytes_of("ad"), ct, &got_head, 1, got.data()));
      BOOST_TEST(got_head == head);
      BOOST_TEST(got == payload, boost::test_tools::per_element());
      BOOST_TEST(tx.nonce() == 1u);
      BOOST_TEST(rx.nonce() == 1u);
    }
  }
}

BOOST_AUTO_TEST_CASE(split_open_wipes_both_parts_on_a_bad_tag) {
  for (auto cipher : {cipher_kind::chacha_poly, cipher_kind::aes_gcm}) {
    auto tx = keyed(cipher);
    auto rx = keyed(cipher);
    const uint8_t head = 7;
    auto payload = bytes_of("payload behind the head");
    byte_buffer ct(1 + payload.size() + tag_len);
    BOOST_REQUIRE(tx.seal({}, const_byte_span{&head, 1}, payload, ct.data()));
    ct.back() ^= 1;
    uint8_t got_head = 0x55;
    byte_buffer got(payload.size(), 0x55);
    BOOST_TEST(rx.open({}, ct, &got_head, 1, got.data()).code()
               == errc::decrypt_failed);
    BOOST_TEST(got_head == 0);
    BOOST_TEST(got == byte_buffer(payload.size(), 0),
               boost::test_tools::per_element());
    BOOST_TEST(rx.nonce() == 0u);
  }
}

BOOST_AUTO_TEST_CASE(split_seal_and_open_without_a_key_pass_through) {
  cipher_state tx;
  cipher_state rx;
  const uint8_t head = 9;
  auto payload = bytes_of("plain");
  byte_buffer out(1 + payload.size());
  BOOST_REQUIRE(tx.seal({}, const_byte_span{&head, 1}, payload, out.data()));
  byte_buffer expected{head};
  expected.insert(expected.end(), payload.begin(), payload.end());
  BOOST_TEST(out == expected, boost::test_tools::per_element());
  uint8_t got_head = 0;
  byte_buffer got(payload.size());
  BOOST_REQUIRE(rx.open({}, out, &got_head, 1, got.data()));
  BOOST_TEST(got_head == head);
  BOOST_TEST(got == payload, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(seal_at_open_at_use_explicit_nonces) {
  for (auto cipher : {cipher_kind::chacha_poly, cipher_kind::aes_gcm}) {
    auto tx = keyed(cipher);
    auto rx = keyed(cipher);
    auto ref = keyed(cipher);
    const uint64_t nonces[] = {5, 0, 1u << 20, UINT64_MAX - 1, 3};
    for (auto n : nonces) {
      auto msg = bytes_of("datagram " + std::to_string(n));
      byte_buffer ct(msg.size() + tag_len);
      BOOST_REQUIRE(tx.seal_at(n, bytes_of("hdr"), msg, ct.data()));
      // Same bytes as the counter-based path at that nonce.
      ref.set_nonce(n);
      byte_buffer expected;
      BOOST_REQUIRE(ref.encrypt_with_ad(bytes_of("hdr"), msg, expected));
      BOOST_TEST(ct == expected, boost::test_tools::per_element());
      byte_buffer pt(msg.size());
      // The wrong nonce fails and the right one works, in any order.
      BOOST_TEST(rx.open_at(n ^ 2, bytes_of("hdr"), ct, pt.data()).code()
                 == errc::decrypt_failed);
      BOOST_REQUIRE(rx.open_at(n, bytes_of("hdr"), ct, pt.data()));
      BOOST_TEST(pt == msg, boost::test_tools::per_element());
    }
    // The internal counters were never touched.
    BOOST_TEST(tx.nonce() == 0u);
    BOOST_TEST(rx.nonce() == 0u);
  }
}

BOOST_AUTO_TEST_CASE(direction_switch_on_one_state) {
  // One state may seal and open (e.g. rekey on a receiving state): the cached
  // context must follow the direction.
  auto cs = keyed(cipher_kind::aes_gcm);
  byte_buffer ct(5 + tag_len);
  byte_buffer pt(5);
  for (uint64_t n = 0; n < 3; ++n) {
    BOOST_REQUIRE(cs.seal_at(n, {}, bytes_of("hello"), ct.data()));
    BOOST_REQUIRE(cs.open_at(n, {}, ct, pt.data()));
    BOOST_TEST(pt == bytes_of("hello"), boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_SUITE_END()
