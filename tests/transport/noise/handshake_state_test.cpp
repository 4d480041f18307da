#include "crust/transport/noise/handshake_state.hpp"

#include "support/engine_test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

using namespace crust;
using namespace crust::noise;
using namespace crust::test;

namespace {

const keypair& initiator_static() {
  static const keypair kp = *keypair::generate();
  return kp;
}

const keypair& responder_static() {
  static const keypair kp = *keypair::generate();
  return kp;
}

key32 psk_of(uint8_t fill) {
  key32 k;
  k.fill(fill);
  return k;
}

/// The keys a side needs for a protocol name, taken from its pattern.
handshake_config config(const std::string& name, role side,
                        std::vector<key32> psks = {}) {
  handshake_config cfg;
  cfg.protocol_name = name;
  cfg.side = side;
  cfg.prologue = bytes_of("crust test prologue");
  auto pattern = name.substr(6, 2); // "Noise_XX..." -> "XX"
  bool initiator = side == role::initiator;
  // NN uses no static keys; XX, IK and XK use both sides' keys, and the IK
  // and XK initiators know the responder's key in advance.
  if (pattern != "NN")
    cfg.local_static = initiator ? initiator_static() : responder_static();
  if ((pattern == "IK" || pattern == "XK") && initiator)
    cfg.remote_static = responder_static().pub;
  cfg.psks = std::move(psks);
  return cfg;
}

struct peers {
  handshake_state init;
  handshake_state resp;
};

peers make_peers(const std::string& name, std::vector<key32> init_psks = {},
                 std::vector<key32> resp_psks = {}) {
  auto init = handshake_state::create(
    config(name, role::initiator, std::move(init_psks)));
  auto resp = handshake_state::create(
    config(name, role::responder, std::move(resp_psks)));
  BOOST_REQUIRE_MESSAGE(init, (init ? "" : init.error().message()));
  BOOST_REQUIRE_MESSAGE(resp, (resp ? "" : resp.error().message()));
  return peers{std::move(*init), std::move(*resp)};
}

/// Runs the first `count` handshake messages (all when count is SIZE_MAX),
/// returning the wire bytes of each. Message 0 carries no payload so that it
/// has no bytes whose truncation would still be valid.
std::vector<byte_buffer> exchange(peers& p, size_t count = SIZE_MAX) {
  std::vector<byte_buffer> wire;
  for (size_t i = 0; i < count && !p.init.is_complete(); ++i) {
    auto& writer = i % 2 == 0 ? p.init : p.resp;
    auto& reader = i % 2 == 0 ? p.resp : p.init;
    auto payload = i == 0 ? byte_buffer{}
                          : bytes_of("payload " + std::to_string(i));
    byte_buffer msg;
    auto st = writer.write_message(payload, msg);
    BOOST_REQUIRE_MESSAGE(st, st.error().message());
    byte_buffer got;
    st = reader.read_message(msg, got);
    BOOST_REQUIRE_MESSAGE(st, st.error().message());
    BOOST_TEST(got == payload, boost::test_tools::per_element());
    wire.push_back(std::move(msg));
  }
  return wire;
}

/// Number of handshake messages of the pattern in `name`.
size_t message_count(const std::string& name) {
  return name.substr(6, 2) == "XX" || name.substr(6, 2) == "XK" ? 3 : 2;
}

const char* suites[] = {
  "25519_ChaChaPoly_SHA256",
  "25519_ChaChaPoly_BLAKE2s",
  "25519_AESGCM_SHA256",
};

} // namespace

BOOST_AUTO_TEST_SUITE(handshake_state_suite)

BOOST_AUTO_TEST_CASE(random_key_handshakes_agree) {
  for (auto pattern : {"NN", "XX", "IK", "XK"}) {
    for (auto suite_name : suites) {
      auto name = std::string{"Noise_"} + pattern + "_" + suite_name;
      BOOST_TEST_CONTEXT(name) {
        auto p = make_peers(name);
        BOOST_TEST(p.init.is_my_turn());
        BOOST_TEST(!p.resp.is_my_turn());
        auto wire = exchange(p);
        BOOST_TEST(wire.size() == message_count(name));
        BOOST_TEST(p.init.is_complete());
        BOOST_TEST(p.resp.is_complete());
        BOOST_TEST(!p.init.is_my_turn());
        BOOST_TEST(!p.resp.is_my_turn());
        BOOST_TEST(p.init.handshake_hash() == p.resp.handshake_hash());
        if (std::string{pattern} == "NN") {
          BOOST_TEST(!p.init.remote_static());
          BOOST_TEST(!p.resp.remote_static());
        } else {
          BOOST_REQUIRE(p.init.remote_static());
          BOOST_REQUIRE(p.resp.remote_static());
          BOOST_TEST(*p.init.remote_static() == responder_static().pub);
          BOOST_TEST(*p.resp.remote_static() == initiator_static().pub);
        }
        auto ik = p.init.split();
        auto rk = p.resp.split();
        BOOST_REQUIRE(ik);
        BOOST_REQUIRE(rk);
        BOOST_TEST(ik->handshake_hash == rk->handshake_hash);
        // Both directions work with the split states.
        for (int i = 0; i < 3; ++i) {
          byte_buffer ct;
          byte_buffer pt;
          BOOST_REQUIRE(ik->send.encrypt_with_ad({}, bytes_of("ping"), ct));
          BOOST_REQUIRE(rk->receive.decrypt_with_ad({}, ct, pt));
          ct.clear();
          BOOST_REQUIRE(rk->send.encrypt_with_ad({}, bytes_of("pong"), ct));
          BOOST_REQUIRE(ik->receive.decrypt_with_ad({}, ct, pt));
          BOOST_TEST(pt == bytes_of("pingpong"),
                     boost::test_tools::per_element());
          pt.clear();
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(two_handshakes_differ) {
  auto a = make_peers("Noise_XX_25519_ChaChaPoly_SHA256");
  auto b = make_peers("Noise_XX_25519_ChaChaPoly_SHA256");
  exchange(a);
  exchange(b);
  BOOST_TEST(a.init.handshake_hash() != b.init.handshake_hash());
}

BOOST_AUTO_TEST_CASE(psk_handshakes) {
  for (auto name : {"Noise_XXpsk3_25519_ChaChaPoly_SHA256",
                    "Noise_NNpsk0_25519_AESGCM_SHA256",
                    "Noise_NNpsk0+psk2_25519_ChaChaPoly_BLAKE2s",
                    "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"}) {
    BOOST_TEST_CONTEXT(name) {
      std::vector<key32> psks{psk_of(7)};
      if (std::string{name}.find('+') != std::string::npos)
        psks.push_back(psk_of(8));
      auto good = make_peers(name, psks, psks);
      exchange(good);
      BOOST_TEST(good.init.handshake_hash() == good.resp.handshake_hash());
      // A different PSK on one side: some read fails, never silently works.
      auto other = psks;
      other.back() = psk_of(9);
      auto bad = make_peers(name, psks, other);
      bool failed = false;
      for (size_t i = 0; !failed && !bad.init.is_complete(); ++i) {
        auto& writer = i % 2 == 0 ? bad.init : bad.resp;
        auto& reader = i % 2 == 0 ? bad.resp : bad.init;
        byte_buffer msg;
        BOOST_REQUIRE(writer.write_message(bytes_of("x"), msg));
        byte_buffer got;
        auto st = reader.read_message(msg, got);
        if (!st) {
          BOOST_TEST(st.code() == errc::decrypt_failed);
          failed = true;
        }
      }
      BOOST_TEST(failed);
    }
  }
}

BOOST_AUTO_TEST_CASE(truncated_messages_fail_cleanly) {
  for (auto pattern : {"NN", "XX", "IK", "XK"}) {
    auto name = std::string{"Noise_"} + pattern + "_25519_ChaChaPoly_SHA256";
    auto reference = make_peers(name);
    auto full = exchange(reference);
    for (size_t m = 0; m < full.size(); ++m) {
      for (size_t len = 0; len < full[m].size(); ++len) {
        BOOST_TEST_CONTEXT(name << " message " << m << " prefix " << len) {
          auto p = make_peers(name);
          auto wire = exchange(p, m);
          auto& writer = m % 2 == 0 ? p.init : p.resp;
          auto& reader = m % 2 == 0 ? p.resp : p.init;
          byte_buffer msg;
          BOOST_REQUIRE(writer.write_message(
            m == 0 ? byte_buffer{} : bytes_of("payload " + std::to_string(m)),
            msg));
          BOOST_REQUIRE(msg.size() == full[m].size());
          byte_buffer got = bytes_of("untouched");
          auto st = reader.read_message(const_byte_span{msg}.subspan(0, len),
                                        got);
          BOOST_TEST(!st);
          BOOST_TEST((st.code() == errc::malformed_message
                      || st.code() == errc::decrypt_failed));
          BOOST_TEST(got == bytes_of("untouched"),
                     boost::test_tools::per_element());
          // Poisoned: even the genuine message is refused now.
          BOOST_TEST(reader.read_message(msg, got).code()
                     == errc::handshake_state);
          BOOST_TEST(!reader.is_my_turn());
          BOOST_TEST(!reader.is_complete());
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(oversized_messages) {
  auto p = make_peers("Noise_XX_25519_ChaChaPoly_SHA256");
  byte_buffer huge(max_message_len + 1, 0x42);
  byte_buffer got;
  BOOST_TEST(p.resp.read_message(huge, got).code() == errc::message_too_large);
  BOOST_TEST(p.resp.read_message(huge, got).code() == errc::handshake_state);
  // Writing: 32 bytes of e plus the payload must fit in 65535.
  auto q = make_peers("Noise_XX_25519_ChaChaPoly_SHA256");
  byte_buffer out;
  BOOST_TEST(
    q.init.write_message(byte_buffer(max_message_len - 31, 0), out).code()
    == errc::message_too_large);
  BOOST_TEST(out.empty());
  auto r = make_peers("Noise_XX_25519_ChaChaPoly_SHA256");
  BOOST_REQUIRE(
    r.init.write_message(byte_buffer(max_message_len - 32, 0), out));
  BOOST_TEST(out.size() == max_message_len);
  BOOST_REQUIRE(r.resp.read_message(out, got));
  // Message 2 carries 32 + 48 + 16 bytes around the payload.
  out.clear();
  BOOST_TEST(
    r.resp.write_message(byte_buffer(max_message_len - 95, 0), out).code()
    == errc::message_too_large);
}

BOOST_AUTO_TEST_CASE(bit_flips_are_detected) {
  for (auto pattern : {"XX", "IK", "XK"}) {
    auto name = std::string{"Noise_"} + pattern + "_25519_AESGCM_SHA256";
    auto reference = make_peers(name);
    auto full = exchange(reference);
    // Message 1 of XX and XK is unauthenticated; from message 2 on every
    // byte is covered by a tag or feeds a DH whose key the tag covers.
    for (size_t m = 1; m < full.size(); ++m) {
      for (size_t i = 0; i < full[m].size(); ++i) {
        BOOST_TEST_CONTEXT(name << " message " << m << " byte " << i) {
          auto p = make_peers(name);
          exchange(p, m);
          auto& writer = m % 2 == 0 ? p.init : p.resp;
          auto& reader = m % 2 == 0 ? p.resp : p.init;
          byte_buffer msg;
          BOOST_REQUIRE(writer.write_message(
            bytes_of("payload " + std::to_string(m)), msg));
          msg[i] ^= 0x04;
          byte_buffer got;
          auto st = reader.read_message(msg, got);
          BOOST_TEST((st.code() == errc::decrypt_failed
                      || st.code() == errc::invalid_public_key));
          BOOST_TEST(got.empty());
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(ik_first_message_bit_flips) {
  auto name = std::string{"Noise_IK_25519_ChaChaPoly_BLAKE2s"};
  auto reference = make_peers(name);
  auto full = exchange(reference);
  for (size_t i = 0; i < full[0].size(); ++i) {
    auto p = make_peers(name);
    byte_buffer msg;
    BOOST_REQUIRE(p.init.write_message({}, msg));
    msg[i] ^= 0x80;
    byte_buffer got;
    auto st = p.resp.read_message(msg, got);
    BOOST_TEST((st.code() == errc::decrypt_failed
                || st.code() == errc::invalid_public_key),
               "byte " << i);
  }
}

BOOST_AUTO_TEST_CASE(replayed_first_message) {
  auto p = make_peers("Noise_XX_25519_ChaChaPoly_SHA256");
  auto wire = exchange(p);
  byte_buffer got;
  // A finished responder refuses it.
  BOOST_TEST(p.resp.read_message(wire[0], got).code() == errc::handshake_state);
  // A responder waiting for message 3 takes it for a (too short) message 3.
  auto q = make_peers("Noise_XX_25519_ChaChaPoly_SHA256");
  auto first = exchange(q, 2);
  BOOST_TEST(q.resp.read_message(first[0], got).code()
             == errc::malformed_message);
  BOOST_TEST(q.resp.read_message(first[0], got).code()
             == errc::handshake_state);
  // A fresh responder accepts a replay (spec 7.7 / performance.md 5.4.7:
  // replay protection of message 1 is the application's job), but the
  // handshake cannot finish without the initiator's ephemeral key.
  auto fresh = handshake_state::create(
    config("Noise_XX_25519_ChaChaPoly_SHA256", role::responder));
  BOOST_REQUIRE(fresh);
  BOOST_REQUIRE(fresh->read_message(wire[0], got));
  byte_buffer msg2;
  BOOST_REQUIRE(fresh->write_message({}, msg2));
  BOOST_TEST(fresh->read_message(wire[2], got).code() == errc::decrypt_failed);
}

BOOST_AUTO_TEST_CASE(out_of_turn_calls) {
  byte_buffer out;
  byte_buffer got;
  {
    auto p = make_peers("Noise_XX_25519_ChaChaPoly_SHA256");
    // The initiator must write first.
    BOOST_TEST(p.init.read_message(byte_buffer(32, 9), got).code()
               == errc::handshake_state);
    BOOST_TEST(p.init.write_message({}, out).code() == errc::handshake_state);
    BOOST_TEST(out.empty());
  }
  {
    auto p = make_peers("Noise_XX_25519_ChaChaPoly_SHA256");
    BOOST_TEST(p.resp.write_message({}, out).code() == errc::handshake_state);
    BOOST_TEST(p.resp.read_message(byte_buffer(32, 9), got).code()
               == errc::handshake_state);
  }
  {
    auto p = make_peers("Noise_XX_25519_ChaChaPoly_SHA256");
    BOOST_REQUIRE(p.init.write_message({}, out));
    // Writing twice in a row.
    BOOST_TEST(p.init.write_message({}, out).code() == errc::handshake_state);
  }
  {
    auto p = make_peers("Noise_NN_25519_ChaChaPoly_SHA256");
    BOOST_TEST(p.init.split().error().code == errc::handshake_incomplete);
    exchange(p);
    BOOST_TEST(p.init.write_message({}, out).code() == errc::handshake_state);
    BOOST_TEST(p.resp.read_message(out, got).code() == errc::handshake_state);
  }
  {
    auto p = make_peers("Noise_NN_25519_ChaChaPoly_SHA256");
    exchange(p);
    BOOST_REQUIRE(p.init.split());
    BOOST_TEST(p.init.split().error().code == errc::handshake_state);
    // The handshake hash stays readable for channel binding.
    BOOST_TEST(p.init.handshake_hash() == p.resp.handshake_hash());
  }
}

BOOST_AUTO_TEST_CASE(wrong_remote_static_in_ik) {
  auto wrong = *keypair::generate();
  auto cfg = config("Noise_IK_25519_ChaChaPoly_SHA256", role::initiator);
  cfg.remote_static = wrong.pub;
  auto init = handshake_state::create(cfg);
  auto resp = handshake_state::create(
    config("Noise_IK_25519_ChaChaPoly_SHA256", role::responder));
  BOOST_REQUIRE(init);
  BOOST_REQUIRE(resp);
  byte_buffer msg;
  BOOST_REQUIRE(init->write_message(bytes_of("hello"), msg));
  byte_buffer got;
  auto st = resp->read_message(msg, got);
  BOOST_TEST(st.code() == errc::decrypt_failed);
  BOOST_TEST(got.empty());
  BOOST_TEST(!resp->remote_static());
}

BOOST_AUTO_TEST_CASE(low_order_public_keys) {
  byte_buffer got;
  byte_buffer out;
  {
    // NN initiator reading a responder ephemeral of zeros: ee fails.
    auto p = make_peers("Noise_NN_25519_ChaChaPoly_SHA256");
    BOOST_REQUIRE(p.init.write_message({}, out));
    BOOST_REQUIRE(p.resp.read_message(out, got));
    byte_buffer msg2;
    BOOST_REQUIRE(p.resp.write_message({}, msg2));
    std::fill(msg2.begin(), msg2.begin() + 32, 0);
    BOOST_TEST(p.init.read_message(msg2, got).code()
               == errc::invalid_public_key);
  }
  {
    // XX responder given a zero ephemeral: its own ee fails on write.
    auto p = make_peers("Noise_XX_25519_ChaChaPoly_SHA256");
    BOOST_REQUIRE(p.resp.read_message(byte_buffer(32, 0), got));
    out.clear();
    BOOST_TEST(p.resp.write_message({}, out).code()
               == errc::invalid_public_key);
    BOOST_TEST(out.empty());
    BOOST_TEST(p.resp.write_message({}, out).code() == errc::handshake_state);
  }
  {
    // IK responder: es with a zero ephemeral fails while reading.
    auto p = make_peers("Noise_IK_25519_ChaChaPoly_SHA256");
    byte_buffer msg1;
    BOOST_REQUIRE(p.init.write_message({}, msg1));
    std::fill(msg1.begin(), msg1.begin() + 32, 0);
    BOOST_TEST(p.resp.read_message(msg1, got).code()
               == errc::invalid_public_key);
  }
  {
    // IK initiator told the responder's key is a low-order point.
    auto cfg = config("Noise_IK_25519_ChaChaPoly_SHA256", role::initiator);
    cfg.remote_static = key32{};
    auto init = handshake_state::create(cfg);
    BOOST_REQUIRE(init);
    out.clear();
    BOOST_TEST(init->write_message({}, out).code() == errc::invalid_public_key);
  }
}

BOOST_AUTO_TEST_CASE(unsupported_names) {
  const char* names[] = {
    "",
    "Noise",
    "Noise_XX",
    "Noise_XX_25519_ChaChaPoly",
    "Noise_XX_25519_ChaChaPoly_SHA256_extra",
    "NoisePSK_XX_25519_ChaChaPoly_SHA256",
    "Noise_XX_448_ChaChaPoly_SHA256",
    "Noise_XX_25519_AESGCM_SHA512",
    "Noise_XX_25519_ChaChaPoly_BLAKE2b",
    "Noise_XX_25519_Twofish_SHA256",
    "Noise_KK_25519_ChaChaPoly_SHA256",
    "Noise_N_25519_ChaChaPoly_SHA256",
    "Noise_XXfallback_25519_ChaChaPoly_SHA256",
    "Noise_XXpsk4_25519_ChaChaPoly_SHA256",
    "Noise_NNpsk0+psk0_25519_ChaChaPoly_SHA256",
    "Noise_NNpsk_25519_ChaChaPoly_SHA256",
    "Noise_NNpsk10_25519_ChaChaPoly_SHA256",
    "Noise_xx_25519_ChaChaPoly_SHA256",
  };
  for (auto name : names) {
    handshake_config cfg;
    cfg.protocol_name = name;
    auto hs = handshake_state::create(cfg);
    BOOST_REQUIRE_MESSAGE(!hs, name);
    BOOST_TEST(hs.error().code == errc::unsupported_protocol, name);
    BOOST_TEST(hs.error().detail.find(name) != std::string::npos,
               hs.error().detail);
  }
}

BOOST_AUTO_TEST_CASE(invalid_configurations) {
  auto expect_invalid = [](handshake_config cfg, const char* why) {
    auto hs = handshake_state::create(std::move(cfg));
    BOOST_REQUIRE_MESSAGE(!hs, why);
    BOOST_TEST(hs.error().code == errc::invalid_config, why);
    BOOST_TEST(!hs.error().detail.empty(), why);
  };
  {
    auto cfg = config("Noise_XX_25519_ChaChaPoly_SHA256", role::initiator);
    cfg.local_static.reset();
    expect_invalid(cfg, "XX initiator without a static key");
  }
  {
    auto cfg = config("Noise_IK_25519_ChaChaPoly_SHA256", role::responder);
    cfg.local_static.reset();
    expect_invalid(cfg, "IK responder without a static key");
  }
  {
    auto cfg = config("Noise_IK_25519_ChaChaPoly_SHA256", role::initiator);
    cfg.remote_static.reset();
    expect_invalid(cfg, "IK initiator without the responder's key");
  }
  {
    auto cfg = config("Noise_XX_25519_ChaChaPoly_SHA256", role::initiator);
    cfg.remote_static = responder_static().pub;
    expect_invalid(cfg, "XX initiator with a remote static it cannot use");
  }
  {
    auto cfg = config("Noise_XXpsk3_25519_ChaChaPoly_SHA256", role::initiator);
    expect_invalid(cfg, "XXpsk3 without a PSK");
  }
  {
    auto cfg = config("Noise_XX_25519_ChaChaPoly_SHA256", role::initiator);
    cfg.psks.push_back(psk_of(1));
    expect_invalid(cfg, "a PSK for a pattern without psk tokens");
  }
  {
    auto cfg = config("Noise_XX_25519_ChaChaPoly_SHA256", role::initiator);
    cfg.local_static->pub[0] ^= 1;
    expect_invalid(cfg, "a static pair whose halves do not match");
  }
  // An unused local static key is harmless and accepted.
  auto cfg = config("Noise_NN_25519_ChaChaPoly_SHA256", role::initiator);
  cfg.local_static = initiator_static();
  BOOST_TEST(static_cast<bool>(handshake_state::create(cfg)));
}

BOOST_AUTO_TEST_CASE(suite_and_algorithms) {
  auto hs = handshake_state::create(
    config("Noise_NN_25519_AESGCM_SHA256", role::initiator));
  BOOST_REQUIRE(hs);
  BOOST_TEST((hs->algorithms().cipher == cipher_kind::aes_gcm));
  BOOST_TEST((hs->algorithms().hash == hash_kind::sha256));
  hs = handshake_state::create(
    config("Noise_NN_25519_ChaChaPoly_BLAKE2s", role::initiator));
  BOOST_REQUIRE(hs);
  BOOST_TEST((hs->algorithms().cipher == cipher_kind::chacha_poly));
  BOOST_TEST((hs->algorithms().hash == hash_kind::blake2s));
}

BOOST_AUTO_TEST_CASE(prologue_mismatch_fails) {
  auto init_cfg = config("Noise_NN_25519_ChaChaPoly_SHA256", role::initiator);
  auto resp_cfg = config("Noise_NN_25519_ChaChaPoly_SHA256", role::responder);
  resp_cfg.prologue = bytes_of("another network");
  auto init = handshake_state::create(init_cfg);
  auto resp = handshake_state::create(resp_cfg);
  BOOST_REQUIRE(init);
  BOOST_REQUIRE(resp);
  byte_buffer msg;
  byte_buffer got;
  BOOST_REQUIRE(init->write_message({}, msg));
  BOOST_REQUIRE(resp->read_message(msg, got));
  msg.clear();
  BOOST_REQUIRE(resp->write_message(bytes_of("hi"), msg));
  BOOST_TEST(init->read_message(msg, got).code() == errc::decrypt_failed);
}

BOOST_AUTO_TEST_CASE(ephemeral_source_failure_poisons) {
  auto cfg = config("Noise_NN_25519_ChaChaPoly_SHA256", role::initiator);
  cfg.ephemeral_source = []() -> expected<keypair> {
    return failure{errc::crypto_failure, "no entropy today"};
  };
  auto hs = handshake_state::create(cfg);
  BOOST_REQUIRE(hs);
  byte_buffer out;
  BOOST_TEST(hs->write_message({}, out).code() == errc::crypto_failure);
  BOOST_TEST(out.empty());
  BOOST_TEST(hs->write_message({}, out).code() == errc::handshake_state);
}

BOOST_AUTO_TEST_CASE(moved_from_state_fails_cleanly) {
  auto p = make_peers("Noise_NN_25519_ChaChaPoly_SHA256");
  auto moved = std::move(p.init);
  byte_buffer out;
  // NOLINTBEGIN(bugprone-use-after-move)
  BOOST_TEST(p.init.write_message({}, out).code() == errc::handshake_state);
  BOOST_TEST(!p.init.is_my_turn());
  BOOST_TEST(!p.init.is_complete());
  BOOST_TEST(!p.init.remote_static());
  BOOST_TEST(!p.init.split());
  // NOLINTEND(bugprone-use-after-move)
  BOOST_TEST(moved.is_my_turn());
  BOOST_REQUIRE(moved.write_message({}, out));
}

BOOST_AUTO_TEST_CASE(payloads_are_appended) {
  auto p = make_peers("Noise_NN_25519_ChaChaPoly_SHA256");
  byte_buffer out = bytes_of("frame header");
  BOOST_REQUIRE(p.init.write_message(bytes_of("hello"), out));
  BOOST_TEST(out.size() == 12 + 32 + 5);
  byte_buffer got = bytes_of(">");
  BOOST_REQUIRE(p.resp.read_message(const_byte_span{out}.subspan(12), got));
  BOOST_TEST(got == bytes_of(">hello"), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
