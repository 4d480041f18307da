#include "crust/transport/noise/frame_codec.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace crust {

std::ostream& operator<<(std::ostream& os, errc x) {
  return os << to_string(x);
}

} // namespace crust

using namespace crust;
using namespace crust::noise;

namespace {

constexpr size_t max_msg = size_t{2} * 1024 * 1024;

key32 fixed_key(uint8_t seed) {
  key32 k{};
  for (size_t i = 0; i < k.size(); ++i)
    k[i] = static_cast<uint8_t>(size_t{seed} * 31 + i);
  return k;
}

cipher_state keyed(uint8_t seed) {
  cipher_state cs{cipher_kind::chacha_poly};
  cs.initialize_key(fixed_key(seed));
  return cs;
}

byte_buffer pattern(size_t size, uint8_t salt = 0) {
  byte_buffer out(size);
  for (size_t i = 0; i < size; ++i)
    out[i] = static_cast<uint8_t>((i * 131 + (i >> 8) + salt) & 0xFF);
  return out;
}

/// Everything a decoder reported, owned.
struct collected {
  std::vector<byte_buffer> messages;
  int keepalives = 0;
  int rekeys = 0;
  int closes = 0;
  uint16_t close_reason = 0;
  std::string close_text;

  auto sink() {
    return [this](const frame_event& ev) {
      switch (ev.kind) {
        case frame_event_kind::message:
          messages.push_back(ev.message.to_buffer());
          break;
        case frame_event_kind::keepalive: ++keepalives; break;
        case frame_event_kind::rekey: ++rekeys; break;
        case frame_event_kind::close:
          ++closes;
          close_reason = ev.close_reason;
          close_text = std::string{ev.close_text};
          break;
      }
    };
  }
};

struct fixture {
  frame_codec_config cfg;
  frame_encoder enc{keyed(1), cfg};
  frame_decoder dec{keyed(1), cfg};
  collected got;

  status feed(const_byte_span bytes) {
    return dec.feed(bytes, got.sink());
  }

  /// Feeds in pieces of random size up to `max_piece`.
  status feed_randomly(const byte_buffer& bytes, size_t max_piece,
                       uint32_t seed) {
    std::mt19937 rng{seed};
    size_t pos = 0;
    while (pos < bytes.size()) {
      auto n = std::min<size_t>(1 + rng() % max_piece, bytes.size() - pos);
      if (auto res = feed(const_byte_span{bytes}.subspan(pos, n)); !res)
        return res;
      pos += n;
      BOOST_REQUIRE_LE(dec.buffered(), frame_length_len + 65535);
    }
    return {};
  }
};

/// Seals an arbitrary body as one frame, bypassing the encoder's checks.
byte_buffer raw_frame(cipher_state& cs, const byte_buffer& body,
                      size_t declared = SIZE_MAX) {
  auto len = declared == SIZE_MAX ? body.size() + tag_len : declared;
  byte_buffer prefix{static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
  byte_buffer out;
  BOOST_REQUIRE(cs.encrypt_with_ad({}, prefix, out));
  BOOST_REQUIRE(cs.encrypt_with_ad({}, body, out));
  return out;
}

byte_buffer first_fragment(uint32_t total, const byte_buffer& data) {
  byte_buffer body{1, static_cast<uint8_t>(total >> 24),
                   static_cast<uint8_t>(total >> 16),
                   static_cast<uint8_t>(total >> 8),
                   static_cast<uint8_t>(total)};
  body.insert(body.end(), data.begin(), data.end());
  return body;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(frame_codec_tests, fixture)

BOOST_AUTO_TEST_CASE(defaults) {
  BOOST_CHECK_EQUAL(enc.config().max_message_size, max_msg);
  BOOST_CHECK_EQUAL(enc.config().max_frame_body, 65472u);
  BOOST_CHECK_EQUAL(frame_length_len, 18u);
}

BOOST_AUTO_TEST_CASE(frame_layout) {
  byte_buffer out;
  BOOST_REQUIRE(enc.encode_message(pattern(100), out));
  // Sealed length (18), then type + u32 total + 100 data + tag.
  BOOST_CHECK_EQUAL(out.size(), 18u + 1 + 4 + 100 + 16);
  BOOST_CHECK_EQUAL(out.size(), enc.encoded_size(100));
  auto cs = keyed(1);
  byte_buffer plain;
  BOOST_REQUIRE(
    cs.decrypt_with_ad({}, const_byte_span{out}.subspan(0, 18), plain));
  BOOST_REQUIRE_EQUAL(plain.size(), 2u);
  BOOST_CHECK_EQUAL(plain[0] * 256 + plain[1], 1 + 4 + 100 + 16);
  plain.clear();
  BOOST_REQUIRE(
    cs.decrypt_with_ad({}, const_byte_span{out}.subspan(18), plain));
  BOOST_CHECK_EQUAL(plain[0], 1); // message-first
  BOOST_CHECK_EQUAL(plain[4], 100);
}

BOOST_AUTO_TEST_CASE(round_trip_sizes) {
  // Boundaries of the default body (65472: first fragment holds 65467,
  // continuations 65471) and of the largest one (65519).
  std::vector<size_t> sizes{0,     1,      2,      100,    65466,  65467,
                            65468, 65513,  65514,  65515,  65519,  65535,
                            65536, 130938, 130939, 131032, 131033, 200000};
  sizes.push_back(max_msg - 1);
  sizes.push_back(max_msg);
  for (auto size : sizes) {
    auto msg = pattern(size, static_cast<uint8_t>(size));
    byte_buffer out;
    BOOST_REQUIRE_MESSAGE(enc.encode_message(msg, out), "size " << size);
    BOOST_CHECK_EQUAL(out.size(), enc.encoded_size(size));
    got.messages.clear();
    BOOST_REQUIRE(feed(out));
    BOOST_REQUIRE_EQUAL(got.messages.size(), 1u);
    BOOST_CHECK_MESSAGE(got.messages[0] == msg, "size " << size);
    BOOST_CHECK_EQUAL(dec.buffered(), 0u);
    BOOST_CHECK_EQUAL(dec.reassembling(), 0u);
  }
}

BOOST_AUTO_TEST_CASE(largest_frames) {
  frame_codec_config big;
  big.max_frame_body = 100000; // clamped to 65519
  frame_encoder e{keyed(2), big};
  frame_decoder d{keyed(2)};
  BOOST_CHECK_EQUAL(e.config().max_frame_body, 65519u);
  for (size_t size : {65513, 65514, 65515, 131032, 131033}) {
    auto msg = pattern(size);
    byte_buffer out;
    BOOST_REQUIRE(e.encode_message(msg, out));
    BOOST_CHECK_EQUAL(out.size(), e.encoded_size(size));
    collected c;
    BOOST_REQUIRE(d.feed(out, c.sink()));
    BOOST_REQUIRE_EQUAL(c.messages.size(), 1u);
    BOOST_CHECK(c.messages[0] == msg);
  }
  // One frame of 65514 bytes carries a full 65535-byte body ciphertext.
  byte_buffer one;
  BOOST_REQUIRE(e.encode_message(pattern(65514), one));
  BOOST_CHECK_EQUAL(one.size(), frame_length_len + 65535);
}

BOOST_AUTO_TEST_CASE(oversized_message_is_refused_on_send) {
  byte_buffer out{0x55};
  auto big = pattern(max_msg + 1);
  auto res = enc.encode_message(big, out);
  BOOST_CHECK_EQUAL(res.code(), errc::message_too_large);
  BOOST_CHECK_EQUAL(out.size(), 1u); // nothing sent
  // Not fatal: the next message goes through and decodes.
  BOOST_REQUIRE(enc.encode_message(pattern(10), out));
  BOOST_REQUIRE(feed(const_byte_span{out}.subspan(1)));
  BOOST_CHECK_EQUAL(got.messages.size(), 1u);
}

BOOST_AUTO_TEST_CASE(forged_declared_size_is_refused_before_allocating) {
  frame_codec_config big_cfg;
  big_cfg.max_message_size = 4 * max_msg;
  frame_encoder liar{keyed(1), big_cfg};
  byte_buffer out;
  BOOST_REQUIRE(liar.encode_message(pattern(max_msg + 1), out));
  // Only the first frame: the decoder must refuse on its header.
  auto first_len = frame_length_len + liar.config().max_frame_body + tag_len;
  auto res = feed(const_byte_span{out}.subspan(0, first_len));
  BOOST_CHECK_EQUAL(res.code(), errc::message_too_large);
  BOOST_CHECK(dec.failed());
  BOOST_CHECK_EQUAL(dec.reassembling(), 0u);
  BOOST_CHECK(got.messages.empty());
  // Stays failed.
  res = feed(const_byte_span{out}.subspan(first_len));
  BOOST_CHECK_EQUAL(res.code(), errc::message_too_large);
}

BOOST_AUTO_TEST_CASE(huge_declared_size_is_refused) {
  auto cs = keyed(1);
  auto frame = raw_frame(cs, first_fragment(UINT32_MAX, pattern(3)));
  BOOST_CHECK_EQUAL(feed(frame).code(), errc::message_too_large);
  BOOST_CHECK_EQUAL(dec.reassembling(), 0u);
}

BOOST_AUTO_TEST_CASE(byte_by_byte_small_messages) {
  byte_buffer out;
  BOOST_REQUIRE(enc.encode_message(pattern(0), out));
  BOOST_REQUIRE(enc.encode_message(pattern(37), out));
  BOOST_REQUIRE(enc.encode_keepalive(out));
  BOOST_REQUIRE(enc.encode_message(pattern(1000), out));
  for (auto b : out) {
    BOOST_REQUIRE(feed(const_byte_span{&b, 1}));
    BOOST_REQUIRE_LE(dec.buffered(), frame_length_len + 65535);
  }
  BOOST_REQUIRE_EQUAL(got.messages.size(), 3u);
  BOOST_CHECK(got.messages[0].empty());
  BOOST_CHECK(got.messages[1] == pattern(37));
  BOOST_CHECK(got.messages[2] == pattern(1000));
  BOOST_CHECK_EQUAL(got.keepalives, 1);
  BOOST_CHECK_EQUAL(dec.buffered(), 0u);
}

BOOST_AUTO_TEST_CASE(random_chunking_of_large_messages) {
  byte_buffer out;
  std::vector<byte_buffer> sent;
  for (size_t size : {max_msg, size_t{70000}, size_t{1}, size_t{300000}}) {
    sent.push_back(pattern(size, static_cast<uint8_t>(sent.size())));
    BOOST_REQUIRE(enc.encode_message(sent.back(), out));
  }
  BOOST_REQUIRE(feed_randomly(out, 100000, 7));
  BOOST_REQUIRE_EQUAL(got.messages.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i)
    BOOST_CHECK(got.messages[i] == sent[i]);
}

BOOST_AUTO_TEST_CASE(small_random_chunks) {
  byte_buffer out;
  auto msg = pattern(150000, 3);
  BOOST_REQUIRE(enc.encode_message(msg, out));
  BOOST_REQUIRE(feed_randomly(out, 40, 11));
  BOOST_REQUIRE_EQUAL(got.messages.size(), 1u);
  BOOST_CHECK(got.messages[0] == msg);
}

BOOST_AUTO_TEST_CASE(bit_flips_are_fatal) {
  byte_buffer out;
  BOOST_REQUIRE(enc.encode_message(pattern(5000), out));
  auto good_len = out.size();
  BOOST_REQUIRE(enc.encode_message(pattern(10), out));
  // Every flipped position fails, in the length or in the body.
  for (size_t pos :
       {size_t{0}, size_t{17}, size_t{18}, size_t{100}, good_len - 1}) {
    frame_decoder d{keyed(1)};
    auto copy = out;
    copy[pos] ^= 0x20;
    auto res = d.feed(copy, [](const frame_event&) {
      BOOST_FAIL("no event expected");
    });
    BOOST_CHECK_EQUAL(res.code(), errc::decrypt_failed);
    BOOST_CHECK(d.failed());
    // Stays failed, even for genuine data.
    res = d.feed(const_byte_span{out}.subspan(good_len),
                 [](const frame_event&) {
                   BOOST_FAIL("dead decoder");
                 });
    BOOST_CHECK_EQUAL(res.code(), errc::decrypt_failed);
    BOOST_CHECK_EQUAL(d.error().code, errc::decrypt_failed);
  }
}

BOOST_AUTO_TEST_CASE(wrong_key_fails) {
  byte_buffer out;
  BOOST_REQUIRE(enc.encode_message(pattern(10), out));
  frame_decoder other{keyed(2)};
  auto res = other.feed(out, [](const frame_event&) {});
  BOOST_CHECK_EQUAL(res.code(), errc::decrypt_failed);
}

BOOST_AUTO_TEST_CASE(dropped_frame_is_detected) {
  byte_buffer a;
  byte_buffer b;
  BOOST_REQUIRE(enc.encode_message(pattern(10), a));
  BOOST_REQUIRE(enc.encode_message(pattern(10), b));
  BOOST_CHECK_EQUAL(feed(b).code(), errc::decrypt_failed);
}

BOOST_AUTO_TEST_CASE(replayed_frame_is_detected) {
  byte_buffer a;
  BOOST_REQUIRE(enc.encode_message(pattern(10), a));
  BOOST_REQUIRE(feed(a));
  BOOST_CHECK_EQUAL(feed(a).code(), errc::decrypt_failed);
}

BOOST_AUTO_TEST_CASE(rekey_keeps_both_ends_in_sync) {
  frame_codec_config small;
  small.rekey_interval = 3;
  small.max_frame_body = 1000;
  frame_encoder e{keyed(4), small};
  frame_decoder d{keyed(4), small};
  byte_buffer out;
  std::vector<byte_buffer> sent;
  std::mt19937 rng{5};
  for (int i = 0; i < 300; ++i) {
    sent.push_back(pattern(rng() % 5000, static_cast<uint8_t>(i)));
    BOOST_REQUIRE(e.encode_message(sent.back(), out));
    if (i % 7 == 0)
      BOOST_REQUIRE(e.encode_keepalive(out));
    if (i % 50 == 0)
      BOOST_REQUIRE(e.encode_rekey(out));
  }
  collected c;
  std::mt19937 chunker{6};
  for (size_t pos = 0; pos < out.size();) {
    auto n = std::min<size_t>(1 + chunker() % 3000, out.size() - pos);
    BOOST_REQUIRE(d.feed(const_byte_span{out}.subspan(pos, n), c.sink()));
    pos += n;
  }
  BOOST_REQUIRE_EQUAL(c.messages.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i)
    BOOST_REQUIRE(c.messages[i] == sent[i]);
  BOOST_CHECK_GT(c.rekeys, 100);
  BOOST_CHECK_EQUAL(c.keepalives, 43);
  // The key really changed: the old key at the right nonce cannot open the
  // frame after a rekey.
  frame_codec_config no_auto = small;
  no_auto.rekey_interval = 0;
  frame_encoder f{keyed(4), no_auto};
  byte_buffer rekey_frame;
  byte_buffer after;
  BOOST_REQUIRE(f.encode_rekey(rekey_frame));
  BOOST_REQUIRE(f.encode_message(pattern(5), after));
  auto old_key = keyed(4);
  old_key.set_nonce(2);
  byte_buffer plain;
  BOOST_CHECK(!old_key.decrypt_with_ad(
    {}, const_byte_span{after}.subspan(0, frame_length_len), plain));
}

BOOST_AUTO_TEST_CASE(automatic_rekey_interval) {
  frame_codec_config c2;
  c2.rekey_interval = 2;
  frame_encoder e{keyed(1), c2};
  byte_buffer out;
  for (int i = 0; i < 5; ++i)
    BOOST_REQUIRE(e.encode_keepalive(out));
  // k k R k k R k: 5 keepalives and 2 rekeys, each frame 18 + 17 bytes.
  BOOST_CHECK_EQUAL(out.size(), 7u * 35);
  BOOST_REQUIRE(feed(out));
  BOOST_CHECK_EQUAL(got.rekeys, 2);
  BOOST_CHECK_EQUAL(got.keepalives, 5);
  // Disabled with 0.
  frame_codec_config c0;
  c0.rekey_interval = 0;
  frame_encoder never{keyed(1), c0};
  byte_buffer quiet;
  for (int i = 0; i < 100; ++i)
    BOOST_REQUIRE(never.encode_keepalive(quiet));
  BOOST_CHECK_EQUAL(quiet.size(), 100u * 35);
}

BOOST_AUTO_TEST_CASE(keepalive_and_close) {
  byte_buffer out;
  BOOST_REQUIRE(enc.encode_keepalive(out));
  BOOST_REQUIRE(enc.encode_message(pattern(3), out));
  BOOST_REQUIRE(enc.encode_close(0x1234, "going away", out));
  BOOST_CHECK_EQUAL(enc.encode_keepalive(out).code(), errc::handshake_state);
  BOOST_CHECK_EQUAL(enc.encode_message(pattern(1), out).code(),
                    errc::handshake_state);
  BOOST_REQUIRE(feed(out));
  BOOST_CHECK_EQUAL(got.keepalives, 1);
  BOOST_CHECK_EQUAL(got.messages.size(), 1u);
  BOOST_CHECK_EQUAL(got.closes, 1);
  BOOST_CHECK_EQUAL(got.close_reason, 0x1234);
  BOOST_CHECK_EQUAL(got.close_text, "going away");
  BOOST_CHECK(dec.closed());
  BOOST_CHECK(!dec.failed());
  // Anything after a close is a protocol violation.
  byte_buffer junk{1};
  BOOST_CHECK_EQUAL(feed(junk).code(), errc::malformed_message);
}

BOOST_AUTO_TEST_CASE(close_text_is_bounded) {
  byte_buffer out;
  std::string text(1000, 'x');
  BOOST_REQUIRE(enc.encode_close(7, text, out));
  BOOST_REQUIRE(feed(out));
  BOOST_CHECK_EQUAL(got.close_text.size(), max_close_text);
}

BOOST_AUTO_TEST_CASE(tiny_frames) {
  frame_codec_config tiny;
  tiny.max_frame_body = 1; // clamped to 16
  frame_encoder e{keyed(3), tiny};
  frame_decoder d{keyed(3)};
  BOOST_CHECK_EQUAL(e.config().max_frame_body, 16u);
  auto msg = pattern(1000);
  byte_buffer out;
  BOOST_REQUIRE(e.encode_message(msg, out));
  BOOST_CHECK_EQUAL(out.size(), e.encoded_size(msg.size()));
  BOOST_REQUIRE(e.encode_close(1, "0123456789abcdef", out));
  collected c;
  BOOST_REQUIRE(d.feed(out, c.sink()));
  BOOST_REQUIRE_EQUAL(c.messages.size(), 1u);
  BOOST_CHECK(c.messages[0] == msg);
  BOOST_CHECK_EQUAL(c.close_text, "0123456789abc"); // 16 - 3 bytes
}

BOOST_AUTO_TEST_CASE(codec_pair_from_transport_keys) {
  transport_keys a;
  a.send = keyed(1);
  a.receive = keyed(2);
  transport_keys b;
  b.send = keyed(2);
  b.receive = keyed(1);
  frame_codec x{std::move(a)};
  frame_codec y{std::move(b)};
  byte_buffer wire;
  BOOST_REQUIRE(x.encoder.encode_message(pattern(77), wire));
  collected c;
  BOOST_REQUIRE(y.decoder.feed(wire, c.sink()));
  wire.clear();
  BOOST_REQUIRE(y.encoder.encode_message(pattern(88), wire));
  BOOST_REQUIRE(x.decoder.feed(wire, c.sink()));
  BOOST_REQUIRE_EQUAL(c.messages.size(), 2u);
  BOOST_CHECK(c.messages[1] == pattern(88));
}

// -- malformed bodies, sealed correctly -----------------------------------

BOOST_AUTO_TEST_CASE(malformed_bodies) {
  struct case_t {
    std::vector<byte_buffer> bodies;
    errc expect;
  };
  auto cont = [](const byte_buffer& data) {
    byte_buffer body{2};
    body.insert(body.end(), data.begin(), data.end());
    return body;
  };
  std::vector<case_t> cases{
    {{byte_buffer{0}}, errc::malformed_message}, // type 0
    {{byte_buffer{6}}, errc::malformed_message}, // unknown type
    {{byte_buffer{0xFF, 1, 2}}, errc::malformed_message},
    {{cont(pattern(3))}, errc::malformed_message},     // no message yet
    {{byte_buffer{1, 0, 0}}, errc::malformed_message}, // short total
    {{first_fragment(2, pattern(3))}, errc::malformed_message},
    {{first_fragment(10, pattern(3)), cont(pattern(8))},
     errc::malformed_message}, // overruns the declared length
    {{first_fragment(10, pattern(3)), cont({})}, errc::malformed_message},
    {{first_fragment(10, pattern(3)), first_fragment(3, pattern(3))},
     errc::malformed_message}, // new message inside another
    {{byte_buffer{3, 0}}, errc::malformed_message}, // keepalive + payload
    {{byte_buffer{4, 0}}, errc::malformed_message}, // rekey + payload
    {{byte_buffer{5, 1}}, errc::malformed_message}, // close without reason
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    auto cs = keyed(1);
    byte_buffer wire;
    for (auto& body : cases[i].bodies) {
      auto frame = raw_frame(cs, body);
      wire.insert(wire.end(), frame.begin(), frame.end());
    }
    frame_decoder d{keyed(1)};
    auto res = d.feed(wire, [](const frame_event&) {});
    BOOST_CHECK_MESSAGE(res.code() == cases[i].expect,
                        "case " << i << ": " << res.error().message());
  }
}

BOOST_AUTO_TEST_CASE(short_declared_body_length) {
  for (size_t declared : {0, 1, 16}) {
    auto cs = keyed(1);
    auto frame = raw_frame(cs, byte_buffer{3}, declared);
    frame_decoder d{keyed(1)};
    auto res = d.feed(frame, [](const frame_event&) {});
    BOOST_CHECK_EQUAL(res.code(), errc::malformed_message);
  }
}

BOOST_AUTO_TEST_CASE(control_frames_between_fragments) {
  auto cs = keyed(1);
  byte_buffer wire;
  auto add = [&](const byte_buffer& body) {
    auto frame = raw_frame(cs, body);
    wire.insert(wire.end(), frame.begin(), frame.end());
  };
  add(first_fragment(6, {1, 2}));
  add({3});
  add({2, 3, 4});
  add({3});
  add({2, 5, 6});
  BOOST_REQUIRE(feed(wire));
  BOOST_REQUIRE_EQUAL(got.messages.size(), 1u);
  BOOST_CHECK((got.messages[0] == byte_buffer{1, 2, 3, 4, 5, 6}));
  BOOST_CHECK_EQUAL(got.keepalives, 2);
}

BOOST_AUTO_TEST_SUITE_END()
