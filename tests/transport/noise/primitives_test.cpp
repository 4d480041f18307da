#include "crust/transport/noise/primitives.hpp"

#include "support/engine_test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

using namespace crust;
using namespace crust::noise;
using namespace crust::test;

namespace {

byte_buffer to_buf(const key32& k) {
  return byte_buffer(k.begin(), k.end());
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
