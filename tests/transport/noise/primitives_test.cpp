#include "crust/transport/noise/aead_context.hpp"
#include "crust/transport/noise/primitives.hpp"

#include "support/engine_test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <iterator>
#include <string>

using namespace crust;
using namespace crust::noise;
using namespace crust::test;

namespace {

byte_buffer to_buf(const key32& k) {
  return byte_buffer(k.begin(), k.end());
}

key32 key_with(uint8_t first) {
  key32 k{};
  for (size_t i = 0; i < k.size(); ++i)
    k[i] = static_cast<uint8_t>(first + i);
  return k;
}

// Deterministic, size-dependent payload so that every message differs.
byte_buffer payload(size_t size, uint64_t seed) {
  byte_buffer result(size);
  for (size_t i = 0; i < size; ++i)
    result[i] = static_cast<uint8_t>(seed * 131 + i * 7);
  return result;
}

// The one-shot functions key a fresh context per message, so they are the
// reference for a context that is reused.
byte_buffer reference_seal(cipher_kind cipher, const key32& k, uint64_t n,
                           const byte_buffer& ad, const byte_buffer& pt) {
  byte_buffer ct(pt.size() + tag_len);
  BOOST_REQUIRE(aead_seal(cipher, k, n, ad, pt, ct.data()));
  return ct;
}

/// Two contexts keyed alike: one seals, the other opens.
struct aead_ends {
  aead_context sender;
  aead_context receiver;
};

aead_ends keyed_ends(cipher_kind cipher, const key32& k) {
  aead_ends out;
  BOOST_REQUIRE(out.sender.init(cipher, k));
  BOOST_REQUIRE(out.receiver.init(cipher, k));
  return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(primitives_suite)

BOOST_AUTO_TEST_CASE(names) {
  BOOST_TEST(to_string(cipher_kind::chacha_poly) == "ChaChaPoly");
  BOOST_TEST(to_string(cipher_kind::aes_gcm) == "AESGCM");
  BOOST_TEST(to_string(hash_kind::sha256) == "SHA256");
  BOOST_TEST(to_string(hash_kind::blake2s) == "BLAKE2s");
}

BOOST_AUTO_TEST_CASE(hashes) {
  BOOST_TEST(to_buf(hash(hash_kind::sha256, {}))
               == from_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c"
                           "a495991b7852b855"),
             boost::test_tools::per_element());
  BOOST_TEST(to_buf(hash(hash_kind::blake2s, {}))
               == from_hex("69217a3079908094e11121d042354a7c1f55b6482ca1a51e"
                           "1b250dfd1ed0eef9"),
             boost::test_tools::per_element());
  auto ab = bytes_of("abcdef");
  BOOST_TEST(to_buf(hash2(hash_kind::blake2s, bytes_of("abc"), bytes_of("def")))
               == to_buf(hash(hash_kind::blake2s, ab)),
             boost::test_tools::per_element());
}

// RFC 4231 test case 1 (SHA-256) and independently computed HMAC-BLAKE2s
// (Python hmac + hashlib.blake2s), including keys longer than a block.
BOOST_AUTO_TEST_CASE(hmac_known_answers) {
  BOOST_TEST(
    to_buf(hmac(hash_kind::sha256, byte_buffer(20, 0x0b), bytes_of("Hi There")))
      == from_hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da7"
                  "26e9376c2e32cff7"),
    boost::test_tools::per_element());
  BOOST_TEST(to_buf(hmac(hash_kind::blake2s, bytes_of("key"),
                         bytes_of("The quick brown fox jumps over the lazy "
                                  "dog")))
               == from_hex("f93215bb90d4af4c3061cd932fb169fb8bb8a91d0b4022ba"
                           "ea1271e1323cd9a0"),
             boost::test_tools::per_element());
  byte_buffer long_key;
  for (int i = 0; i < 100; ++i)
    long_key.push_back(static_cast<uint8_t>(i));
  BOOST_TEST(to_buf(hmac(hash_kind::blake2s, long_key, bytes_of("data")))
               == from_hex("2624e61dfe9fcc84d3137a317c171ced634ef3fcd2fa3f55"
                           "15940906f4e38c48"),
             boost::test_tools::per_element());
  BOOST_TEST(to_buf(hmac(hash_kind::sha256, long_key, bytes_of("data")))
               == from_hex("3f86d0426fe596b4cf1888919fb862c3d59159ba3e274efa"
                           "043bc41181a1f6d3"),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(hkdf_known_answers) {
  key32 ck{};
  for (size_t i = 0; i < ck.size(); ++i)
    ck[i] = static_cast<uint8_t>(i);
  struct known {
    hash_kind h;
    const char* o1;
    const char* o2;
    const char* o3;
  };
  const known cases[] = {
    {hash_kind::sha256,
     "6652e076ecbcbe76627293d67fcc22d29dee719f3c185066ea867eaf1e6f4c47",
     "5c709f4c8626825d850cc12e878c9ea7a08159016a009bc36b8109676b9c074b",
     "9d6f3254e354007293d243ca6c6ddb2d10b725c55285c73317b7d383e39fd488"},
    {hash_kind::blake2s,
     "87b7f70b24183c6db5dc4f6d9f4c47cdb203321aa2a0bef714896adb3107a040",
     "538a02e1eb2e31b7e4d4b82476d1fe2acf50085d3fb584537279195f5d1f5824",
     "9ad858025593be88de0f9442a589cfe84a88dc19e4753d93684d1c5efc4837f9"},
  };
  for (const auto& c : cases) {
    key32 o1;
    key32 o2;
    key32 o3;
    hkdf(c.h, ck, bytes_of("input"), o1, o2, &o3);
    BOOST_TEST(to_buf(o1) == from_hex(c.o1), boost::test_tools::per_element());
    BOOST_TEST(to_buf(o2) == from_hex(c.o2), boost::test_tools::per_element());
    BOOST_TEST(to_buf(o3) == from_hex(c.o3), boost::test_tools::per_element());
    // Two outputs are the first two of three; out1 may alias the input.
    key32 aliased = ck;
    key32 p2;
    hkdf(c.h, aliased, bytes_of("input"), aliased, p2);
    BOOST_TEST(to_buf(aliased) == from_hex(c.o1),
               boost::test_tools::per_element());
    BOOST_TEST(to_buf(p2) == from_hex(c.o2), boost::test_tools::per_element());
  }
}

// RFC 7748 section 6.1.
BOOST_AUTO_TEST_CASE(x25519_rfc7748) {
  auto alice = keypair::from_private(key_from_hex(
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  auto bob = keypair::from_private(key_from_hex(
    "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  BOOST_REQUIRE(alice);
  BOOST_REQUIRE(bob);
  BOOST_TEST(to_buf(alice->pub)
               == from_hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4"
                           "eba4a98eaa9b4e6a"),
             boost::test_tools::per_element());
  BOOST_TEST(to_buf(bob->pub)
               == from_hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674d"
                           "adfc7e146f882b4f"),
             boost::test_tools::per_element());
  auto k1 = dh(alice->priv, bob->pub);
  auto k2 = dh(bob->priv, alice->pub);
  BOOST_REQUIRE(k1);
  BOOST_REQUIRE(k2);
  BOOST_TEST(to_buf(*k1)
               == from_hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e33"
                           "76f09b3c1e161742"),
             boost::test_tools::per_element());
  BOOST_TEST(to_buf(*k1) == to_buf(*k2), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(x25519_rejects_low_order_points) {
  auto kp = keypair::generate();
  BOOST_REQUIRE(kp);
  // 0, 1 and a point of order 8: each gives an all-zero shared secret.
  const char* bad[] = {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
  };
  for (auto hex : bad) {
    auto k = dh(kp->priv, key_from_hex(hex));
    BOOST_REQUIRE(!k);
    BOOST_TEST(k.error().code == errc::invalid_public_key);
  }
}

BOOST_AUTO_TEST_CASE(generate_gives_distinct_keys) {
  auto a = keypair::generate();
  auto b = keypair::generate();
  BOOST_REQUIRE(a);
  BOOST_REQUIRE(b);
  BOOST_TEST(to_buf(a->pub) != to_buf(b->pub));
  auto again = keypair::from_private(a->priv);
  BOOST_REQUIRE(again);
  BOOST_TEST(to_buf(again->pub) == to_buf(a->pub),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(memory_helpers) {
  byte_buffer x = bytes_of("same bytes");
  byte_buffer y = bytes_of("same bytes");
  byte_buffer z = bytes_of("same bytez");
  BOOST_TEST(constant_time_equal(x, y));
  BOOST_TEST(!constant_time_equal(x, z));
  BOOST_TEST(!constant_time_equal(x, bytes_of("same")));
  BOOST_TEST(constant_time_equal({}, {}));
  secure_wipe(x.data(), x.size());
  BOOST_TEST(x == byte_buffer(y.size(), 0), boost::test_tools::per_element());
  byte_buffer r1(64);
  byte_buffer r2(64);
  BOOST_REQUIRE(random_bytes(r1.data(), r1.size()));
  BOOST_REQUIRE(random_bytes(r2.data(), r2.size()));
  BOOST_TEST(r1 != r2);
}

BOOST_AUTO_TEST_CASE(aead_free_functions) {
  key32 k{};
  k[0] = 1;
  for (auto cipher : {cipher_kind::chacha_poly, cipher_kind::aes_gcm}) {
    auto msg = bytes_of("free function");
    byte_buffer ct(msg.size() + tag_len);
    BOOST_REQUIRE(aead_seal(cipher, k, 42, bytes_of("ad"), msg, ct.data()));
    byte_buffer pt(msg.size());
    BOOST_REQUIRE(aead_open(cipher, k, 42, bytes_of("ad"), ct, pt.data()));
    BOOST_TEST(pt == msg, boost::test_tools::per_element());
    ct[3] ^= 1;
    BOOST_TEST(aead_open(cipher, k, 42, bytes_of("ad"), ct, pt.data()).code()
               == errc::decrypt_failed);
    // Nothing unauthenticated is left behind.
    BOOST_TEST(pt == byte_buffer(msg.size(), 0),
               boost::test_tools::per_element());
  }
}

// One keyed context per direction for many messages, as datagram_codec uses
// it: every message must match a freshly keyed one, whatever came before.
BOOST_AUTO_TEST_CASE(aead_context_reused_for_many_messages) {
  auto k = key_with(7);
  for (auto cipher : {cipher_kind::chacha_poly, cipher_kind::aes_gcm}) {
    BOOST_TEST_CONTEXT(to_string(cipher)) {
      auto ends = keyed_ends(cipher, k);
      auto& sender = ends.sender;
      auto& receiver = ends.receiver;
      const size_t sizes[] = {0, 1, 15, 16, 17, 63, 64, 65, 255, 1200, 1452};
      for (uint64_t i = 0; i < 2000; ++i) {
        // Out-of-order nonces, as datagrams arrive.
        auto n = (i * 7919) % 4096;
        auto pt = payload(sizes[i % std::size(sizes)], i);
        auto ad = payload(i % 3 == 0 ? 0 : 10, n);
        byte_buffer ct(pt.size() + tag_len);
        BOOST_REQUIRE(sender.seal(n, ad, pt, ct.data()));
        auto expected = reference_seal(cipher, k, n, ad, pt);
        BOOST_REQUIRE(ct == expected);
        byte_buffer out(pt.size());
        BOOST_REQUIRE(receiver.open(n, ad, ct, out.data()));
        BOOST_REQUIRE(out == pt);
      }
      // Split seal and open (a head byte apart from the body) on the same
      // contexts give the same message as the plain calls.
      for (uint64_t n = 5000; n < 5100; ++n) {
        auto body = payload(n % 300, n);
        byte_buffer head{static_cast<uint8_t>(n)};
        byte_buffer whole = head;
        whole.insert(whole.end(), body.begin(), body.end());
        byte_buffer ct(whole.size() + tag_len);
        BOOST_REQUIRE(sender.seal(n, {}, head, body, ct.data()));
        BOOST_REQUIRE(ct == reference_seal(cipher, k, n, {}, whole));
        uint8_t head_out = 0;
        byte_buffer body_out(body.size());
        BOOST_REQUIRE(receiver.open(n, {}, ct, &head_out, 1, body_out.data()));
        BOOST_TEST(head_out == head[0]);
        BOOST_REQUIRE(body_out == body);
      }
    }
  }
}

// A forged packet must not leave OpenSSL state behind that breaks the next,
// genuine one (the IV restart has to reset the stream and MAC state).
BOOST_AUTO_TEST_CASE(aead_context_forged_then_genuine) {
  auto k = key_with(40);
  for (auto cipher : {cipher_kind::chacha_poly, cipher_kind::aes_gcm}) {
    BOOST_TEST_CONTEXT(to_string(cipher)) {
      auto ends = keyed_ends(cipher, k);
      auto& sender = ends.sender;
      auto& receiver = ends.receiver;
      auto ad = bytes_of("header");
      uint64_t n = 0;
      auto genuine_roundtrip = [&](size_t size) {
        ++n;
        auto pt = payload(size, n);
        byte_buffer ct(pt.size() + tag_len);
        BOOST_REQUIRE(sender.seal(n, ad, pt, ct.data()));
        byte_buffer out(pt.size());
        BOOST_REQUIRE(receiver.open(n, ad, ct, out.data()));
        BOOST_REQUIRE(out == pt);
      };
      // Forgeries of each kind, each followed by a genuine packet.
      enum forgery { tag_bit, body_bit, ad_bit, wrong_nonce, other_key };
      for (auto kind : {tag_bit, body_bit, ad_bit, wrong_nonce, other_key}) {
        for (size_t size : {size_t{0}, size_t{1}, size_t{100}, size_t{1300}}) {
          ++n;
          auto pt = payload(size, n);
          auto forged_ad = ad;
          byte_buffer ct(pt.size() + tag_len);
          auto seal_n = kind == wrong_nonce ? n + 1 : n;
          if (kind == other_key) {
            ct = reference_seal(cipher, key_with(41), n, ad, pt);
          } else {
            BOOST_REQUIRE(sender.seal(seal_n, ad, pt, ct.data()));
          }
          if (kind == tag_bit)
            ct.back() ^= 0x80;
          else if (kind == body_bit && !pt.empty())
            ct[pt.size() / 2] ^= 1;
          else if (kind == ad_bit)
            forged_ad[0] ^= 1;
          else if (kind == body_bit)
            ct[0] ^= 1; // no body: the tag then
          byte_buffer out(pt.size(), 0xAA);
          BOOST_TEST(receiver.open(n, forged_ad, ct, out.data()).code()
                     == errc::decrypt_failed);
          BOOST_TEST(out == byte_buffer(pt.size(), 0),
                     boost::test_tools::per_element());
          genuine_roundtrip(size);
          genuine_roundtrip(1200);
        }
      }
      // A too-short ciphertext and a split open with a bad tag, then genuine.
      byte_buffer short_ct(tag_len - 1);
      byte_buffer sink(1);
      BOOST_TEST(receiver.open(++n, ad, short_ct, sink.data()).code()
                 == errc::decrypt_failed);
      genuine_roundtrip(64);
      auto pt = payload(50, ++n);
      byte_buffer ct(pt.size() + tag_len);
      BOOST_REQUIRE(sender.seal(n, ad, pt, ct.data()));
      ct[tag_len] ^= 4;
      uint8_t head = 0;
      byte_buffer body(pt.size() - 1);
      BOOST_TEST(receiver.open(n, ad, ct, &head, 1, body.data()).code()
                 == errc::decrypt_failed);
      genuine_roundtrip(64);
      // The failure leaves the receiver usable for sealing as well.
      byte_buffer back(pt.size() + tag_len);
      BOOST_REQUIRE(receiver.seal(++n, ad, pt, back.data()));
      BOOST_TEST(back == reference_seal(cipher, k, n, ad, pt),
                 boost::test_tools::per_element());
    }
  }
}

// Re-keying a used context (rekey, or a new key after reset) must give the
// same messages as a fresh context with the new key.
BOOST_AUTO_TEST_CASE(aead_context_rekeyed_in_place) {
  for (auto cipher : {cipher_kind::chacha_poly, cipher_kind::aes_gcm}) {
    BOOST_TEST_CONTEXT(to_string(cipher)) {
      aead_context ctx;
      auto pt = payload(500, 1);
      byte_buffer ct(pt.size() + tag_len);
      for (uint8_t round = 0; round < 4; ++round) {
        auto k = key_with(round * 50);
        BOOST_REQUIRE(ctx.init(cipher, k));
        for (uint64_t n = 0; n < 3; ++n) {
          BOOST_REQUIRE(ctx.seal(n, {}, pt, ct.data()));
          BOOST_REQUIRE(ct == reference_seal(cipher, k, n, {}, pt));
        }
        if (round % 2 == 1) {
          ctx.reset();
          BOOST_CHECK(!ctx.ready());
          BOOST_TEST(ctx.seal(0, {}, pt, ct.data()).code()
                     == errc::crypto_failure);
        }
      }
    }
  }
}

// The cached OpenSSL key must never outlive a change of the pair's halves:
// DH has to follow `priv`, not the cache.
BOOST_AUTO_TEST_CASE(loaded_key_follows_the_private_half) {
  auto a = keypair::generate();
  auto b = keypair::generate();
  auto c = keypair::generate();
  BOOST_REQUIRE(a && b && c);
  BOOST_CHECK(a->is_consistent());
  auto ab = dh(*a, b->pub);
  auto ab_raw = dh(a->priv, b->pub);
  BOOST_REQUIRE(ab && ab_raw);
  BOOST_CHECK(*ab == *ab_raw);
  keypair altered = *a; // shares the cache
  altered.priv = c->priv;
  altered.pub = c->pub;
  BOOST_CHECK(!altered.is_consistent());
  auto cb = dh(altered, b->pub);
  auto cb_raw = dh(c->priv, b->pub);
  BOOST_REQUIRE(cb && cb_raw);
  BOOST_CHECK(*cb == *cb_raw);
  BOOST_CHECK(*cb != *ab);
  keypair by_hand;
  by_hand.priv = a->priv;
  by_hand.pub = a->pub;
  BOOST_CHECK(!by_hand.is_consistent());
}

BOOST_AUTO_TEST_SUITE_END()
