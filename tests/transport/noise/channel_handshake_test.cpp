#include "crust/transport/noise/channel_handshake.hpp"
#include "crust/transport/noise/frame_codec.hpp"

#include "support/engine_test_support.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <random>
#include <string>

using namespace crust;
using namespace crust::noise;

namespace {

keypair make_keys(uint8_t seed) {
  key32 priv{};
  for (size_t i = 0; i < priv.size(); ++i)
    priv[i] = static_cast<uint8_t>(seed + 3 * i + 1);
  auto kp = keypair::from_private(priv);
  BOOST_REQUIRE(kp);
  return *kp;
}

channel_config config(role side, uint8_t seed,
                      std::string network = "crust-test") {
  channel_config cfg;
  cfg.side = side;
  cfg.local_static = make_keys(seed);
  cfg.network_name = std::move(network);
  return cfg;
}

channel_handshake make(channel_config cfg) {
  auto hs = channel_handshake::create(std::move(cfg));
  BOOST_REQUIRE_MESSAGE(hs, (hs ? "" : hs.error().message()));
  return std::move(*hs);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// Runs a stream handshake, delivering every flight in pieces of at most
/// `piece` bytes. Returns false if either side failed.
bool run_stream(channel_handshake& ini, channel_handshake& res,
                size_t piece = SIZE_MAX) {
  byte_buffer to_res;
  if (!ini.start(to_res))
    return false;
  auto deliver = [piece](channel_handshake& hs, byte_buffer& flight,
                         byte_buffer& reply) {
    size_t pos = 0;
    while (pos < flight.size()) {
      auto n = std::min(piece, flight.size() - pos);
      auto used = hs.on_bytes(const_byte_span{flight}.subspan(pos, n), reply);
      if (!used)
        return false;
      BOOST_REQUIRE_EQUAL(*used, n);
      pos += n;
    }
    flight.clear();
    return true;
  };
  byte_buffer to_ini;
  for (int round = 0; round < 3 && !(ini.done() && res.done()); ++round) {
    if (!to_res.empty() && !deliver(res, to_res, to_ini))
      return false;
    if (!to_ini.empty() && !deliver(ini, to_ini, to_res))
      return false;
  }
  return ini.done() && res.done();
}

struct pair_fixture {
  channel_config ini_cfg = config(role::initiator, 1);
  channel_config res_cfg = config(role::responder, 2);
};

/// The envelopes of a handshake, for tampering.
struct transcript {
  byte_buffer msg1;
  byte_buffer msg2;
  byte_buffer msg3;
};

enum class over { stream, datagram };

/// Runs a handshake until it has written `count` envelopes (1 to 3), each
/// one but the last delivered to the other side; every step must succeed.
transcript first_envelopes(channel_handshake& ini, channel_handshake& res,
                           int count, over way) {
  auto deliver = [way](channel_handshake& hs, const byte_buffer& in,
                       byte_buffer& out) {
    return way == over::stream ? static_cast<bool>(hs.on_bytes(in, out))
                               : static_cast<bool>(hs.on_datagram(in, out));
  };
  transcript t;
  BOOST_REQUIRE(ini.start(t.msg1));
  if (count >= 2)
    BOOST_REQUIRE(deliver(res, t.msg1, t.msg2));
  if (count >= 3)
    BOOST_REQUIRE(deliver(ini, t.msg2, t.msg3));
  return t;
}

/// The envelopes of a complete datagram handshake.
transcript record(channel_config ini_cfg, channel_config res_cfg) {
  auto ini = make(std::move(ini_cfg));
  auto res = make(std::move(res_cfg));
  auto t = first_envelopes(ini, res, 3, over::datagram);
  BOOST_REQUIRE(res.on_datagram(t.msg3, t.msg3 /* no reply appended */));
  BOOST_REQUIRE(ini.done() && res.done());
  return t;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(channel_handshake_tests, pair_fixture)

BOOST_AUTO_TEST_CASE(prologue_layout) {
  auto p = channel_handshake::make_prologue(1, "net");
  BOOST_REQUIRE_EQUAL(p.size(), 5u + 1 + 32);
  BOOST_CHECK_EQUAL(std::string(p.begin(), p.begin() + 5), "crust");
  BOOST_CHECK_EQUAL(p[5], 1);
  byte_buffer name{'n', 'e', 't'};
  auto h = hash(hash_kind::sha256, name);
  BOOST_CHECK(std::equal(h.begin(), h.end(), p.begin() + 6));
}

BOOST_AUTO_TEST_CASE(both_sides_learn_each_others_key) {
  auto ini_pub = ini_cfg.local_static.pub;
  auto res_pub = res_cfg.local_static.pub;
  auto ini = make(ini_cfg);
  auto res = make(res_cfg);
  BOOST_REQUIRE(run_stream(ini, res));
  BOOST_CHECK(ini.remote_static() == res_pub);
  BOOST_CHECK(res.remote_static() == ini_pub);
  auto a = ini.finish();
  auto b = res.finish();
  BOOST_REQUIRE(a);
  BOOST_REQUIRE(b);
  BOOST_CHECK(a->remote_static == res_pub);
  BOOST_CHECK(b->remote_static == ini_pub);
  BOOST_CHECK(a->keys.handshake_hash == b->keys.handshake_hash);
  // The transport keys match: frames flow both ways.
  frame_codec x{std::move(a->keys)};
  frame_codec y{std::move(b->keys)};
  byte_buffer wire;
  byte_buffer msg{'h', 'i'};
  BOOST_REQUIRE(x.encoder.encode_message(msg, 0, wire));
  int got = 0;
  BOOST_REQUIRE(y.decoder.feed(wire, [&](const frame_event& ev) {
    BOOST_CHECK(ev.message == const_byte_span{msg});
    ++got;
  }));
  wire.clear();
  BOOST_REQUIRE(y.encoder.encode_message(msg, 0, wire));
  BOOST_REQUIRE(x.decoder.feed(wire, [&](const frame_event&) {
    ++got;
  }));
  BOOST_CHECK_EQUAL(got, 2);
  // Spent.
  BOOST_CHECK_EQUAL(ini.finish().error().code, errc::handshake_state);
}

BOOST_AUTO_TEST_CASE(envelope_sizes_never_amplify) {
  auto t = record(ini_cfg, res_cfg);
  BOOST_CHECK_EQUAL(t.msg1[0], protocol_version);
  BOOST_CHECK_EQUAL(t.msg1[1], 1);
  BOOST_CHECK_EQUAL(t.msg1.size(), 4u + (t.msg1[2] << 8) + t.msg1[3]);
  BOOST_CHECK_LE(t.msg2.size(), t.msg1.size());
  // The sizes docs/wire-protocol.md promises.
  BOOST_CHECK_EQUAL(t.msg1.size(), 100u);
  BOOST_CHECK_EQUAL(t.msg2.size(), 100u);
  BOOST_CHECK_EQUAL(t.msg3.size(), 68u);
  BOOST_CHECK_LE(t.msg1.size(), 4 + max_envelope_body);
}

BOOST_AUTO_TEST_CASE(byte_by_byte_delivery) {
  auto ini = make(ini_cfg);
  auto res = make(res_cfg);
  BOOST_REQUIRE(run_stream(ini, res, 1));
  BOOST_CHECK(ini.remote_static() == res_cfg.local_static.pub);
}

BOOST_AUTO_TEST_CASE(random_chunking) {
  for (size_t piece : {2, 3, 5, 7, 13, 50}) {
    auto ini = make(ini_cfg);
    auto res = make(res_cfg);
    BOOST_REQUIRE_MESSAGE(run_stream(ini, res, piece), "piece " << piece);
  }
}

BOOST_AUTO_TEST_CASE(other_suites) {
  for (auto s : {suite{cipher_kind::aes_gcm, hash_kind::sha256},
                 suite{cipher_kind::chacha_poly, hash_kind::blake2s},
                 suite{cipher_kind::aes_gcm, hash_kind::blake2s}}) {
    ini_cfg.algorithms = s;
    res_cfg.algorithms = s;
    auto ini = make(ini_cfg);
    auto res = make(res_cfg);
    BOOST_REQUIRE(run_stream(ini, res));
    auto a = ini.finish();
    BOOST_REQUIRE(a);
    BOOST_CHECK(a->keys.send.cipher() == s.cipher);
  }
}

BOOST_AUTO_TEST_CASE(suite_mismatch_fails_cleanly) {
  res_cfg.algorithms.cipher = cipher_kind::aes_gcm;
  auto ini = make(ini_cfg);
  auto res = make(res_cfg);
  BOOST_CHECK(!run_stream(ini, res));
  BOOST_CHECK(ini.failed());
  BOOST_CHECK_EQUAL(ini.error().code, errc::decrypt_failed);
}

BOOST_AUTO_TEST_CASE(network_mismatch_reaches_both_sides) {
  res_cfg.network_name = "another-net";
  auto ini = make(ini_cfg);
  auto res = make(res_cfg);
  byte_buffer msg1;
  BOOST_REQUIRE(ini.start(msg1));
  byte_buffer refusal;
  auto used = res.on_bytes(msg1, refusal);
  BOOST_REQUIRE(!used);
  BOOST_CHECK_EQUAL(used.error().code, errc::network_mismatch);
  BOOST_CHECK(res.failed());
  BOOST_CHECK_EQUAL(res.error().code, errc::network_mismatch);
  BOOST_TEST_MESSAGE("responder: " << res.error().message());
  BOOST_CHECK(contains(res.error().detail, "another-net"));
  // The refusal envelope: version, kind 2, reason 2.
  BOOST_REQUIRE_GE(refusal.size(), 5u);
  BOOST_CHECK_EQUAL(refusal[0], protocol_version);
  BOOST_CHECK_EQUAL(refusal[1], 2);
  BOOST_CHECK_EQUAL(refusal[4], 2);
  // Refusals are cleartext: they must not name our network.
  BOOST_CHECK(
    !contains(std::string(refusal.begin(), refusal.end()), "another-net"));
  byte_buffer none;
  auto got = ini.on_bytes(refusal, none);
  BOOST_REQUIRE(!got);
  BOOST_CHECK_EQUAL(got.error().code, errc::network_mismatch);
  BOOST_CHECK(none.empty());
  BOOST_TEST_MESSAGE("initiator: " << ini.error().message());
  BOOST_CHECK(contains(ini.error().detail, "refused"));
  BOOST_CHECK(contains(ini.error().detail, "crust-test"));
  // Final: later calls fail the same way.
  BOOST_CHECK_EQUAL(ini.on_bytes(refusal, none).error().code,
                    errc::network_mismatch);
  BOOST_CHECK_EQUAL(ini.finish().error().code, errc::network_mismatch);
}

BOOST_AUTO_TEST_CASE(network_mismatch_in_datagram_mode) {
  res_cfg.network_name = "";
  auto ini = make(ini_cfg);
  auto res = make(res_cfg);
  byte_buffer msg1;
  BOOST_REQUIRE(ini.start(msg1));
  byte_buffer refusal;
  BOOST_CHECK_EQUAL(res.on_datagram(msg1, refusal).code(),
                    errc::network_mismatch);
  byte_buffer none;
  BOOST_CHECK_EQUAL(ini.on_datagram(refusal, none).code(),
                    errc::network_mismatch);
}

BOOST_AUTO_TEST_CASE(unknown_version_is_refused_with_a_clear_detail) {
  auto ini = make(ini_cfg);
  auto res = make(res_cfg);
  byte_buffer msg1;
  BOOST_REQUIRE(ini.start(msg1));
  msg1[0] = 7;
  byte_buffer refusal;
  auto used = res.on_bytes(msg1, refusal);
  BOOST_REQUIRE(!used);
  BOOST_CHECK_EQUAL(used.error().code, errc::unknown_version);
  BOOST_TEST_MESSAGE("responder: " << res.error().message());
  BOOST_CHECK(contains(res.error().detail, "version 7"));
  BOOST_CHECK(contains(res.error().detail, "speaks version 1"));
  BOOST_REQUIRE_GE(refusal.size(), 5u);
  BOOST_CHECK_EQUAL(refusal[4], 1);
  // A peer of another version refuses ours: pretend it speaks version 9.
  refusal[0] = 9;
  byte_buffer none;
  auto got = ini.on_bytes(refusal, none);
  BOOST_REQUIRE(!got);
  BOOST_CHECK_EQUAL(got.error().code, errc::unknown_version);
  BOOST_TEST_MESSAGE("initiator: " << ini.error().message());
  BOOST_CHECK(contains(ini.error().detail, "version 9"));
  BOOST_CHECK(contains(ini.error().detail, "our version 1"));
}

BOOST_AUTO_TEST_CASE(unknown_version_is_refused_after_four_bytes) {
  // The version is judged from the header alone, however long the body.
  auto res = make(res_cfg);
  byte_buffer hdr{2, 1, 0xFF, 0xFF};
  byte_buffer refusal;
  auto used = res.on_bytes(hdr, refusal);
  BOOST_REQUIRE(!used);
  BOOST_CHECK_EQUAL(used.error().code, errc::unknown_version);
  BOOST_CHECK(!refusal.empty());
}

// Datagram sources can be spoofed: whatever a datagram provokes, the answer
// is never larger than the datagram (fuzzer findings, now regressions).
BOOST_AUTO_TEST_CASE(datagram_refusals_never_amplify) {
  for (size_t size : {4u, 5u, 9u, 60u, 100u}) {
    auto res = make(res_cfg);
    byte_buffer dgram(size, 0);
    dgram[0] = 2; // an unknown version
    dgram[1] = 1;
    dgram[2] = static_cast<uint8_t>((size - 4) >> 8);
    dgram[3] = static_cast<uint8_t>(size - 4);
    byte_buffer reply;
    BOOST_CHECK_EQUAL(res.on_datagram(dgram, reply).code(),
                      errc::unknown_version);
    BOOST_CHECK_LE(reply.size(), size);
    if (size >= 5) {
      // Still a well-formed refusal the peer can read, only shorter.
      BOOST_REQUIRE_EQUAL(reply.size(), std::min<size_t>(size, 60));
      BOOST_CHECK_EQUAL(reply[1], 2);
      BOOST_CHECK_EQUAL((size_t{reply[2]} << 8) | reply[3], reply.size() - 4);
      BOOST_CHECK_EQUAL(reply[4], 1);
    } else {
      BOOST_CHECK(reply.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(unpadded_first_message_gets_no_reply) {
  // A genuine Noise message 1 with only the network hash (68-byte envelope)
  // must not be answered with a 100-byte message 2.
  handshake_config hc;
  hc.side = role::initiator;
  hc.local_static = make_keys(9);
  hc.prologue = channel_handshake::make_prologue(1, ini_cfg.network_name);
  auto hs = handshake_state::create(std::move(hc));
  BOOST_REQUIRE(hs);
  BOOST_REQUIRE(ini_cfg.network_name == res_cfg.network_name);
  byte_buffer env{1, 1, 0, 0};
  auto net_hash = hash(hash_kind::sha256,
                       const_byte_span{reinterpret_cast<const uint8_t*>(
                                         res_cfg.network_name.data()),
                                       res_cfg.network_name.size()});
  BOOST_REQUIRE(hs->write_message(net_hash, env));
  env[3] = static_cast<uint8_t>(env.size() - 4);
  BOOST_REQUIRE_EQUAL(env.size(), 68u);
  auto res = make(res_cfg);
  byte_buffer reply;
  BOOST_CHECK_EQUAL(res.on_datagram(env, reply).code(),
                    errc::malformed_message);
  BOOST_CHECK(reply.empty());
}

BOOST_AUTO_TEST_CASE(expected_key_mismatch) {
  ini_cfg.expected_remote = make_keys(99).pub;
  auto ini = make(ini_cfg);
  auto res = make(res_cfg);
  auto t = first_envelopes(ini, res, 2, over::stream);
  byte_buffer refusal;
  auto got = ini.on_bytes(t.msg2, refusal);
  BOOST_REQUIRE(!got);
  BOOST_CHECK_EQUAL(got.error().code, errc::peer_id_mismatch);
  BOOST_TEST_MESSAGE("initiator: " << ini.error().message());
  BOOST_CHECK(contains(ini.error().detail, "expected peer id"));
  BOOST_CHECK(!ini.remote_static());
  // The refusal is cleartext: it must not reveal either static key, which
  // XX keeps from passive observers, in binary or in hex.
  auto wire_text = std::string(refusal.begin(), refusal.end());
  const std::string prefix = "expected peer id ";
  BOOST_REQUIRE_EQUAL(ini.error().detail.substr(0, prefix.size()), prefix);
  auto expected_hex = ini.error().detail.substr(prefix.size(), 64);
  auto actual_hex = ini.error().detail.substr(ini.error().detail.size() - 64);
  BOOST_CHECK(!contains(wire_text, expected_hex.substr(0, 16)));
  BOOST_CHECK(!contains(wire_text, actual_hex.substr(0, 16)));
  for (auto key : {*ini_cfg.expected_remote, res_cfg.local_static.pub})
    BOOST_CHECK(
      std::search(refusal.begin(), refusal.end(), key.begin(), key.end())
      == refusal.end());
  // The responder learns why instead of timing out.
  byte_buffer none;
  auto seen = res.on_bytes(refusal, none);
  BOOST_REQUIRE(!seen);
  BOOST_CHECK_EQUAL(seen.error().code, errc::peer_refused);
  BOOST_TEST_MESSAGE("responder: " << res.error().message());
}

BOOST_AUTO_TEST_CASE(expected_key_match) {
  ini_cfg.expected_remote = res_cfg.local_static.pub;
  res_cfg.expected_remote = ini_cfg.local_static.pub;
  auto ini = make(ini_cfg);
  auto res = make(res_cfg);
  BOOST_CHECK(run_stream(ini, res));
}

BOOST_AUTO_TEST_CASE(responder_side_expected_key_mismatch) {
  res_cfg.expected_remote = make_keys(98).pub;
  auto ini = make(ini_cfg);
  auto res = make(res_cfg);
  BOOST_CHECK(!run_stream(ini, res));
  BOOST_CHECK_EQUAL(res.error().code, errc::peer_id_mismatch);
}

BOOST_AUTO_TEST_CASE(bytes_after_the_handshake_are_left_alone) {
  auto ini = make(ini_cfg);
  auto res = make(res_cfg);
  auto t = first_envelopes(ini, res, 3, over::stream);
  BOOST_REQUIRE(ini.done());
  auto a = ini.finish();
  BOOST_REQUIRE(a);
  frame_encoder enc{std::move(a->keys.send)};
  // The initiator's last flight and its first frames in one write.
  auto wire = t.msg3;
  byte_buffer payload{'d', 'a', 't', 'a'};
  BOOST_REQUIRE(enc.encode_message(payload, 0, wire));
  BOOST_REQUIRE(enc.encode_keepalive(wire));
  byte_buffer none;
  // Even when the tail arrives split across calls.
  auto split = t.msg3.size() - 5;
  auto first = res.on_bytes(const_byte_span{wire}.subspan(0, split), none);
  BOOST_REQUIRE(first);
  BOOST_CHECK_EQUAL(*first, split);
  auto rest = const_byte_span{wire}.subspan(split);
  auto used = res.on_bytes(rest, none);
  BOOST_REQUIRE(used);
  BOOST_CHECK_EQUAL(*used, 5u);
  BOOST_REQUIRE(res.done());
  BOOST_CHECK(none.empty());
  // Once done, nothing more is consumed.
  auto again = res.on_bytes(rest.subspan(*used), none);
  BOOST_REQUIRE(again);
  BOOST_CHECK_EQUAL(*again, 0u);
  auto b = res.finish();
  BOOST_REQUIRE(b);
  frame_decoder dec{std::move(b->keys.receive)};
  int messages = 0;
  int keepalives = 0;
  BOOST_REQUIRE(dec.feed(rest.subspan(*used), [&](const frame_event& ev) {
    if (ev.kind == frame_event_kind::message) {
      ++messages;
      BOOST_CHECK(ev.message == const_byte_span{payload});
    } else if (ev.kind == frame_event_kind::keepalive) {
      ++keepalives;
    }
  }));
  BOOST_CHECK_EQUAL(messages, 1);
  BOOST_CHECK_EQUAL(keepalives, 1);
}

BOOST_AUTO_TEST_CASE(datagram_mode_and_retransmissions) {
  auto ini = make(ini_cfg);
  auto res = make(res_cfg);
  byte_buffer msg1;
  BOOST_REQUIRE(ini.start(msg1));
  BOOST_CHECK(ini.last_envelope() == msg1);
  byte_buffer msg2;
  BOOST_REQUIRE(res.on_datagram(msg1, msg2));
  // msg2 was lost: the initiator retransmits msg1, the responder answers
  // with the same msg2 instead of failing.
  byte_buffer msg2_again;
  BOOST_REQUIRE(res.on_datagram(ini.last_envelope(), msg2_again));
  BOOST_CHECK(msg2_again == msg2);
  byte_buffer msg3;
  BOOST_REQUIRE(ini.on_datagram(msg2, msg3));
  BOOST_REQUIRE(ini.done());
  byte_buffer msg3_again;
  BOOST_REQUIRE(ini.on_datagram(msg2, msg3_again));
  BOOST_CHECK(msg3_again == msg3);
  byte_buffer none;
  BOOST_REQUIRE(res.on_datagram(msg3, none));
  BOOST_REQUIRE(res.done());
  BOOST_CHECK(none.empty());
  BOOST_REQUIRE(res.on_datagram(msg3, none)); // duplicate, ignored
  BOOST_CHECK(none.empty());
  auto a = ini.finish();
  auto b = res.finish();
  BOOST_REQUIRE(a && b);
  BOOST_CHECK(a->keys.handshake_hash == b->keys.handshake_hash);
}

BOOST_AUTO_TEST_CASE(truncated_envelopes) {
  auto t = record(ini_cfg, res_cfg);
  for (size_t len = 0; len < t.msg1.size(); ++len) {
    auto res = make(res_cfg);
    byte_buffer cut(t.msg1.begin(), t.msg1.begin() + static_cast<long>(len));
    byte_buffer out;
    // In a stream a short envelope just waits for more...
    auto used = res.on_bytes(cut, out);
    BOOST_REQUIRE(used);
    BOOST_CHECK_EQUAL(*used, len);
    BOOST_CHECK(!res.done() && !res.failed());
    // ...as a datagram it is malformed.
    auto res2 = make(res_cfg);
    BOOST_CHECK_EQUAL(res2.on_datagram(cut, out).code(),
                      errc::malformed_message);
  }
  // A truncated msg2 whose length field was fixed up fails to decrypt or
  // to parse, never crashes.
  for (size_t cut = 1; cut < t.msg2.size() - 4; cut += 7) {
    auto ini = make(ini_cfg);
    byte_buffer msg1;
    BOOST_REQUIRE(ini.start(msg1));
    byte_buffer m(t.msg2.begin(), t.msg2.end() - static_cast<long>(cut));
    auto len = m.size() - 4;
    m[2] = static_cast<uint8_t>(len >> 8);
    m[3] = static_cast<uint8_t>(len);
    byte_buffer out;
    auto st = ini.on_datagram(m, out);
    BOOST_CHECK(!st);
  }
}

BOOST_AUTO_TEST_CASE(length_lies) {
  auto t = record(ini_cfg, res_cfg);
  // Datagram longer or shorter than its length field.
  for (int delta : {-1, 1, 100}) {
    auto res = make(res_cfg);
    auto m = t.msg1;
    auto len = static_cast<int>(m.size()) - 4 + delta;
    m[2] = static_cast<uint8_t>(len >> 8);
    m[3] = static_cast<uint8_t>(len);
    byte_buffer out;
    BOOST_CHECK_EQUAL(res.on_datagram(m, out).code(), errc::malformed_message);
  }
  // Zero length.
  auto res = make(res_cfg);
  byte_buffer zero{1, 1, 0, 0};
  byte_buffer out;
  BOOST_CHECK_EQUAL(res.on_bytes(zero, out).error().code,
                    errc::malformed_message);
}

BOOST_AUTO_TEST_CASE(oversized_envelope_is_refused_from_its_header) {
  auto res = make(res_cfg);
  auto len = max_envelope_body + 1;
  byte_buffer hdr{protocol_version, 1, static_cast<uint8_t>(len >> 8),
                  static_cast<uint8_t>(len)};
  byte_buffer out;
  auto used = res.on_bytes(hdr, out);
  BOOST_REQUIRE(!used);
  BOOST_CHECK_EQUAL(used.error().code, errc::malformed_message);
  BOOST_TEST_MESSAGE(res.error().message());
  BOOST_CHECK(out.empty());
}

BOOST_AUTO_TEST_CASE(wrong_kind) {
  for (uint8_t kind : {0, 3, 0xFF}) {
    auto res = make(res_cfg);
    byte_buffer env{protocol_version, kind, 0, 1, 0};
    byte_buffer out;
    BOOST_CHECK_EQUAL(res.on_bytes(env, out).error().code,
                      errc::malformed_message);
  }
}

BOOST_AUTO_TEST_CASE(bit_flips) {
  auto t = record(ini_cfg, res_cfg);
  // msg1 (cleartext in XX): flips in the header are refused at once; flips
  // in the body either change the network hash (refused) or the
  // ephemeral/padding, which the initiator detects at msg2 because the
  // handshake hashes differ.
  for (size_t pos = 0; pos < t.msg1.size(); ++pos) {
    auto ini = make(ini_cfg);
    auto res = make(res_cfg);
    byte_buffer msg1;
    BOOST_REQUIRE(ini.start(msg1));
    msg1[pos] ^= 0x04;
    byte_buffer msg2;
    auto st = res.on_datagram(msg1, msg2);
    if (!st)
      continue;
    byte_buffer msg3;
    BOOST_CHECK_MESSAGE(!ini.on_datagram(msg2, msg3), "pos " << pos);
  }
  // msg2 and msg3: every flip fails.
  for (size_t pos = 0; pos < t.msg2.size(); ++pos) {
    auto ini = make(ini_cfg);
    auto res = make(res_cfg);
    auto fresh = first_envelopes(ini, res, 2, over::datagram);
    fresh.msg2[pos] ^= 0x80;
    byte_buffer msg3;
    BOOST_CHECK_MESSAGE(!ini.on_datagram(fresh.msg2, msg3), "pos " << pos);
  }
  for (size_t pos = 0; pos < t.msg3.size(); ++pos) {
    auto ini = make(ini_cfg);
    auto res = make(res_cfg);
    auto fresh = first_envelopes(ini, res, 3, over::datagram);
    fresh.msg3[pos] ^= 0x01;
    byte_buffer out;
    auto st = res.on_datagram(fresh.msg3, out);
    BOOST_CHECK_MESSAGE(!st, "pos " << pos);
    BOOST_CHECK(!res.done());
  }
}

BOOST_AUTO_TEST_CASE(replayed_envelopes) {
  auto ini = make(ini_cfg);
  auto res = make(res_cfg);
  auto t = first_envelopes(ini, res, 2, over::stream);
  // In a stream msg1 again is read where msg3 belongs: it fails.
  byte_buffer out;
  auto st = res.on_bytes(t.msg1, out);
  BOOST_REQUIRE(!st);
  BOOST_TEST_MESSAGE(st.error().message());
  // msg3 of an old session replayed into a new one fails to decrypt.
  auto old = record(ini_cfg, res_cfg);
  auto res2 = make(res_cfg);
  auto ini2 = make(ini_cfg);
  first_envelopes(ini2, res2, 2, over::stream);
  auto used = res2.on_bytes(old.msg3, out);
  BOOST_REQUIRE(!used);
  BOOST_CHECK_EQUAL(used.error().code, errc::decrypt_failed);
  // msg2 of an old session replayed to a new initiator fails too.
  auto ini3 = make(ini_cfg);
  byte_buffer m;
  BOOST_REQUIRE(ini3.start(m));
  BOOST_CHECK(!ini3.on_bytes(old.msg2, out));
}

BOOST_AUTO_TEST_CASE(out_of_turn) {
  auto t = record(ini_cfg, res_cfg);
  auto ini = make(ini_cfg);
  byte_buffer out;
  // Before start() the initiator expects nothing.
  BOOST_CHECK_EQUAL(ini.on_bytes(t.msg2, out).error().code,
                    errc::handshake_state);
  auto res = make(res_cfg);
  BOOST_CHECK_EQUAL(res.start(out).code(), errc::handshake_state);
  // Two envelopes in one write where only one is due.
  auto res2 = make(res_cfg);
  auto ini2 = make(ini_cfg);
  byte_buffer two;
  BOOST_REQUIRE(ini2.start(two));
  auto copy = two;
  two.insert(two.end(), copy.begin(), copy.end());
  auto used = res2.on_bytes(two, out);
  BOOST_REQUIRE(!used);
  BOOST_CHECK_EQUAL(used.error().code, errc::handshake_state);
  // finish() before completion.
  auto ini3 = make(ini_cfg);
  BOOST_CHECK_EQUAL(ini3.finish().error().code, errc::handshake_incomplete);
}

BOOST_AUTO_TEST_CASE(bad_config) {
  channel_config cfg;
  auto hs = channel_handshake::create(cfg);
  BOOST_REQUIRE(!hs);
  BOOST_CHECK_EQUAL(hs.error().code, errc::invalid_config);
}

BOOST_AUTO_TEST_CASE(configured_refusal_reaches_the_initiator_as_banned) {
  res_cfg.refusal = channel_refusal{refusal_reason::banned, "go away"};
  auto ini = make(ini_cfg);
  auto res = make(res_cfg);
  byte_buffer msg1;
  BOOST_REQUIRE(ini.start(msg1));
  byte_buffer refusal;
  auto used = res.on_bytes(msg1, refusal);
  BOOST_REQUIRE(!used);
  BOOST_CHECK_EQUAL(used.error().code, errc::banned);
  BOOST_CHECK(res.failed());
  BOOST_TEST_MESSAGE("responder: " << res.error().message());
  // Version, kind 2, length, reason 4, the text; never more than message 1.
  byte_buffer expected{
    protocol_version, 2, 0, 8, 4, 'g', 'o', ' ', 'a', 'w', 'a', 'y'};
  BOOST_CHECK(refusal == expected);
  BOOST_CHECK_LE(refusal.size(), msg1.size());
  byte_buffer none;
  auto got = ini.on_bytes(refusal, none);
  BOOST_REQUIRE(!got);
  BOOST_CHECK_EQUAL(got.error().code, errc::banned);
  BOOST_CHECK(none.empty());
  BOOST_TEST_MESSAGE("initiator: " << ini.error().message());
  BOOST_CHECK(contains(ini.error().detail,
                       "the peer refused the handshake: our address is "
                       "banned"));
  BOOST_CHECK(contains(ini.error().detail, "\"go away\""));
}

BOOST_AUTO_TEST_CASE(configured_refusal_in_datagram_mode_is_not_whitelisted) {
  res_cfg.refusal = channel_refusal{refusal_reason::not_whitelisted, ""};
  auto ini = make(ini_cfg);
  auto res = make(res_cfg);
  byte_buffer msg1;
  BOOST_REQUIRE(ini.start(msg1));
  byte_buffer refusal;
  BOOST_CHECK_EQUAL(res.on_datagram(msg1, refusal).code(),
                    errc::not_whitelisted);
  BOOST_CHECK_EQUAL(refusal.size(), 5u);
  byte_buffer none;
  BOOST_CHECK_EQUAL(ini.on_datagram(refusal, none).code(),
                    errc::not_whitelisted);
  BOOST_CHECK(contains(ini.error().detail, "not on its whitelist"));
}

BOOST_AUTO_TEST_CASE(configured_refusal_reads_no_noise_message) {
  // A handshake envelope whose body is not a valid message 1 still gets the
  // refusal: the body is never read (no DH, no parsing), only the header.
  res_cfg.refusal = channel_refusal{refusal_reason::banned, "banned"};
  auto res = make(res_cfg);
  byte_buffer junk{protocol_version, 1, 0, 3, 0xAA, 0xBB, 0xCC};
  byte_buffer refusal;
  auto used = res.on_bytes(junk, refusal);
  BOOST_REQUIRE(!used);
  BOOST_CHECK_EQUAL(used.error().code, errc::banned);
  BOOST_REQUIRE_GE(refusal.size(), 5u);
  BOOST_CHECK_EQUAL(refusal[4], 4);
  // A wrong version is still refused as such, from the header alone.
  auto res2 = make(res_cfg);
  byte_buffer v9{9, 1, 0, 3, 0xAA, 0xBB, 0xCC};
  byte_buffer out;
  BOOST_CHECK_EQUAL(res2.on_bytes(v9, out).error().code, errc::unknown_version);
  BOOST_REQUIRE_GE(out.size(), 5u);
  BOOST_CHECK_EQUAL(out[4], 1);
}

BOOST_AUTO_TEST_CASE(configured_refusal_is_for_responders) {
  ini_cfg.refusal = channel_refusal{refusal_reason::banned, ""};
  auto hs = channel_handshake::create(ini_cfg);
  BOOST_REQUIRE(!hs);
  BOOST_CHECK_EQUAL(hs.error().code, errc::invalid_config);
}

BOOST_AUTO_TEST_CASE(refusal_text_is_sanitised) {
  auto ini = make(ini_cfg);
  byte_buffer msg1;
  BOOST_REQUIRE(ini.start(msg1));
  byte_buffer ref{9, 2, 0, 6, 0, 'a', '\n', 0x1B, 0xC3, 'z'};
  byte_buffer out;
  auto st = ini.on_bytes(ref, out);
  BOOST_REQUIRE(!st);
  BOOST_CHECK_EQUAL(st.error().code, errc::peer_refused);
  BOOST_CHECK(contains(st.error().detail, "\"a???z\""));
}

BOOST_AUTO_TEST_CASE(garbage_never_crashes) {
  std::mt19937 rng{1234};
  auto t = record(ini_cfg, res_cfg);
  for (int i = 0; i < 2000; ++i) {
    // Mutate a genuine flight a little or send pure noise.
    byte_buffer input;
    switch (i % 3) {
      case 0:
        input.resize(rng() % 200);
        for (auto& b : input)
          b = static_cast<uint8_t>(rng());
        break;
      case 1:
        input = t.msg1;
        for (int k = 0; k < 3; ++k)
          input[rng() % input.size()] = static_cast<uint8_t>(rng());
        break;
      default: input = t.msg1; input.resize(rng() % (input.size() + 10));
    }
    auto res = make(res_cfg);
    byte_buffer out;
    if (i % 2 == 0)
      (void)res.on_bytes(input, out);
    else
      (void)res.on_datagram(input, out);
    BOOST_CHECK_LE(out.size(), 4 + max_envelope_body);
  }
}

BOOST_AUTO_TEST_SUITE_END()
