#include "crust/transport/noise/frame_codec.hpp"

#include "support/engine_test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <iterator>
#include <random>
#include <string>
#include <vector>

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
  std::vector<uint8_t> priorities;
  int keepalives = 0;
  int chooses = 0;
  int rekeys = 0;
  int closes = 0;
  std::vector<uint16_t> service_kinds;
  std::vector<byte_buffer> service_bodies;
  uint16_t close_reason = 0;
  std::string close_text;

  auto sink() {
    return [this](const frame_event& ev) {
      switch (ev.kind) {
        case frame_event_kind::message:
          messages.push_back(ev.message.to_buffer());
          priorities.push_back(ev.priority);
          break;
        case frame_event_kind::keepalive: ++keepalives; break;
        case frame_event_kind::choose: ++chooses; break;
        case frame_event_kind::rekey: ++rekeys; break;
        case frame_event_kind::service:
          service_kinds.push_back(ev.service_kind);
          service_bodies.push_back(ev.service_body.to_buffer());
          break;
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
      BOOST_REQUIRE_LE(dec.buffered(), frame_header_len + 65535);
    }
    return {};
  }
};

/// Seals an arbitrary header and body as one frame, bypassing the encoder's
/// checks. `declared` overrides the body length in the header.
byte_buffer raw_frame(cipher_state& cs, uint8_t type, uint32_t value,
                      const byte_buffer& body = {},
                      size_t declared = SIZE_MAX) {
  auto len = declared != SIZE_MAX ? declared
             : body.empty()       ? size_t{0}
                                  : body.size() + tag_len;
  byte_buffer header{static_cast<uint8_t>(len >> 8),
                     static_cast<uint8_t>(len),
                     type,
                     static_cast<uint8_t>(value >> 24),
                     static_cast<uint8_t>(value >> 16),
                     static_cast<uint8_t>(value >> 8),
                     static_cast<uint8_t>(value)};
  byte_buffer out;
  BOOST_REQUIRE(cs.encrypt_with_ad({}, header, out));
  if (!body.empty())
    BOOST_REQUIRE(cs.encrypt_with_ad({}, body, out));
  return out;
}

/// One frame as the test sends it: header fields and body.
struct raw {
  uint8_t type;
  uint32_t value;
  byte_buffer body;
  size_t declared = SIZE_MAX;
};

byte_buffer raw_stream(const std::vector<raw>& frames) {
  auto cs = keyed(1);
  byte_buffer wire;
  for (auto& f : frames) {
    auto frame = raw_frame(cs, f.type, f.value, f.body, f.declared);
    wire.insert(wire.end(), frame.begin(), frame.end());
  }
  return wire;
}

/// The opened header of the frame starting at `pos`: body length, type and
/// value.
struct opened_header {
  size_t len;
  uint8_t type;
  uint32_t value;
};

opened_header open_header(cipher_state& cs, const byte_buffer& wire,
                          size_t pos) {
  byte_buffer plain;
  BOOST_REQUIRE(cs.decrypt_with_ad(
    {}, const_byte_span{wire}.subspan(pos, frame_header_len), plain));
  BOOST_REQUIRE_EQUAL(plain.size(), 7u);
  return {size_t{plain[0]} << 8 | plain[1], plain[2],
          uint32_t{plain[3]} << 24 | uint32_t{plain[4]} << 16
            | uint32_t{plain[5]} << 8 | plain[6]};
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(frame_codec_tests, fixture)

BOOST_AUTO_TEST_CASE(defaults) {
  BOOST_CHECK_EQUAL(enc.config().max_message_size, max_msg);
  BOOST_CHECK_EQUAL(enc.config().max_frame_body, 65472u);
  BOOST_CHECK_EQUAL(enc.config().max_frame_body % 64, 0u);
  BOOST_CHECK_EQUAL(frame_header_len, 23u);
}

BOOST_AUTO_TEST_CASE(frame_layout) {
  byte_buffer out;
  BOOST_REQUIRE(enc.encode_message(pattern(100), 9, out));
  // Sealed header (23), then the priority byte, the 100 data bytes and the
  // tag.
  BOOST_CHECK_EQUAL(out.size(), 23u + 1 + 100 + 16);
  BOOST_CHECK_EQUAL(out.size(), enc.encoded_size(100));
  auto cs = keyed(1);
  auto h = open_header(cs, out, 0);
  BOOST_CHECK_EQUAL(h.len, 1u + 100 + 16);
  BOOST_CHECK_EQUAL(h.type, 1); // message-first
  BOOST_CHECK_EQUAL(h.value, 100u);
  byte_buffer plain;
  BOOST_REQUIRE(
    cs.decrypt_with_ad({}, const_byte_span{out}.subspan(23), plain));
  BOOST_REQUIRE_EQUAL(plain.size(), 101u);
  BOOST_CHECK_EQUAL(plain[0], 9); // the priority
  BOOST_CHECK(byte_buffer(plain.begin() + 1, plain.end()) == pattern(100));
}

BOOST_AUTO_TEST_CASE(sixteen_kib_message_is_one_frame) {
  byte_buffer out;
  BOOST_REQUIRE(enc.encode_message(pattern(16384), 2, out));
  BOOST_CHECK_EQUAL(out.size(), frame_header_len + 1 + 16384 + tag_len);
  auto cs = keyed(1);
  auto h = open_header(cs, out, 0);
  BOOST_CHECK_EQUAL(h.len, 1u + 16384 + tag_len);
  BOOST_CHECK_EQUAL(h.value, 16384u);
}

BOOST_AUTO_TEST_CASE(every_priority_round_trips) {
  // Single-frame and fragmented messages, every priority value.
  for (unsigned prio = 0; prio < 256; ++prio) {
    for (size_t size : {size_t{0}, size_t{5}, size_t{70000}}) {
      auto msg = pattern(size, static_cast<uint8_t>(prio));
      byte_buffer out;
      BOOST_REQUIRE(enc.encode_message(msg, static_cast<uint8_t>(prio), out));
      got.messages.clear();
      got.priorities.clear();
      BOOST_REQUIRE(feed(out));
      BOOST_REQUIRE_EQUAL(got.messages.size(), 1u);
      BOOST_CHECK(got.messages[0] == msg);
      BOOST_CHECK_EQUAL(got.priorities[0], prio);
    }
  }
}

BOOST_AUTO_TEST_CASE(service_frames_carry_a_kind_and_a_small_body) {
  byte_buffer out;
  BOOST_REQUIRE(enc.encode_service(6, pattern(100), out));
  BOOST_REQUIRE(enc.encode_service(2, {}, out));
  auto cs = keyed(1);
  auto h = open_header(cs, out, 0);
  BOOST_CHECK_EQUAL(h.type, 7);
  BOOST_CHECK_EQUAL(h.value, 6u);
  BOOST_CHECK_EQUAL(h.len, 100 + tag_len);
  BOOST_REQUIRE(feed(out));
  BOOST_REQUIRE_EQUAL(got.service_kinds.size(), 2u);
  BOOST_CHECK_EQUAL(got.service_kinds[0], 6);
  BOOST_CHECK(got.service_bodies[0] == pattern(100));
  BOOST_CHECK_EQUAL(got.service_kinds[1], 2);
  BOOST_CHECK(got.service_bodies[1].empty());
  // Kind 0 and oversized bodies are refused without breaking the encoder.
  byte_buffer none;
  BOOST_CHECK(enc.encode_service(0, {}, none).code()
              == errc::malformed_message);
  BOOST_CHECK(enc.encode_service(1, pattern(max_service_body + 1), none).code()
              == errc::message_too_large);
  BOOST_CHECK(none.empty());
  BOOST_CHECK(!enc.failed());
  BOOST_REQUIRE(enc.encode_service(1, pattern(max_service_body), none));
  BOOST_REQUIRE(feed(none));
  BOOST_CHECK_EQUAL(got.service_kinds.size(), 3u);
}

BOOST_AUTO_TEST_CASE(forged_service_frames_are_malformed) {
  for (auto wire : {raw_stream({{7, 0, {}}}), raw_stream({{7, 65536, {}}}),
                    raw_stream({{7, 1, pattern(max_service_body + 1)}})}) {
    frame_decoder d{keyed(1)};
    collected c;
    auto st = d.feed(wire, c.sink());
    BOOST_CHECK(st.code() == errc::malformed_message);
    BOOST_CHECK(c.service_kinds.empty());
  }
}

BOOST_AUTO_TEST_CASE(choose_frame_is_a_header_alone) {
  byte_buffer out;
  BOOST_REQUIRE(enc.encode_choose(out));
  BOOST_CHECK_EQUAL(out.size(), frame_header_len);
  auto cs = keyed(1);
  auto h = open_header(cs, out, 0);
  BOOST_CHECK_EQUAL(h.len, 0u);
  BOOST_CHECK_EQUAL(h.type, 6);
  BOOST_CHECK_EQUAL(h.value, 0u);
  // Between the fragments of a message, like every control frame.
  BOOST_REQUIRE(feed(out));
  BOOST_CHECK_EQUAL(got.chooses, 1);
  auto wire = raw_stream({{1, 4, {3, 1, 2}}, {6, 0, {}}, {2, 0, {3, 4}}});
  frame_decoder d{keyed(1)};
  collected c;
  BOOST_REQUIRE(d.feed(wire, c.sink()));
  BOOST_CHECK_EQUAL(c.chooses, 1);
  BOOST_REQUIRE_EQUAL(c.messages.size(), 1u);
  BOOST_CHECK((c.messages[0] == byte_buffer{1, 2, 3, 4}));
  BOOST_CHECK_EQUAL(c.priorities[0], 3);
  // Nothing after a close, not even a choose.
  byte_buffer closing;
  BOOST_REQUIRE(enc.encode_close(0, "", closing));
  BOOST_CHECK_EQUAL(enc.encode_choose(closing).code(), errc::handshake_state);
}

BOOST_AUTO_TEST_CASE(fragments_of_a_large_message_are_64_byte_multiples) {
  byte_buffer out;
  BOOST_REQUIRE(enc.encode_message(pattern(max_msg), 2, out));
  BOOST_CHECK_EQUAL(out.size(), enc.encoded_size(max_msg));
  // The priority byte and 2 MiB = 32 full fragments of 65472 bytes (the
  // first holds the priority byte and 65471 message bytes) and one of 2049.
  auto cs = keyed(1);
  size_t pos = 0;
  size_t frames = 0;
  size_t data = 0;
  while (pos < out.size()) {
    auto h = open_header(cs, out, pos);
    BOOST_CHECK_EQUAL(h.type, frames == 0 ? 1 : 2);
    BOOST_CHECK_EQUAL(h.value, frames == 0 ? max_msg : 0u);
    BOOST_REQUIRE_GT(h.len, tag_len);
    if (pos + frame_header_len + h.len < out.size())
      BOOST_CHECK_EQUAL(h.len - tag_len, 65472u);
    else
      BOOST_CHECK_EQUAL(h.len - tag_len, 2049u);
    cs.set_nonce(cs.nonce() + 1); // skip the body
    data += h.len - tag_len;
    pos += frame_header_len + h.len;
    ++frames;
  }
  BOOST_CHECK_EQUAL(frames, 33u);
  BOOST_CHECK_EQUAL(data, max_msg + 1);
}

BOOST_AUTO_TEST_CASE(empty_message_is_a_priority_byte) {
  byte_buffer out;
  BOOST_REQUIRE(enc.encode_message({}, 2, out));
  BOOST_CHECK_EQUAL(out.size(), frame_header_len + 1 + tag_len);
  BOOST_CHECK_EQUAL(enc.encoded_size(0), frame_header_len + 1 + tag_len);
  auto cs = keyed(1);
  auto h = open_header(cs, out, 0);
  BOOST_CHECK_EQUAL(h.len, 1u + tag_len);
  BOOST_CHECK_EQUAL(h.type, 1);
  BOOST_CHECK_EQUAL(h.value, 0u);
  BOOST_REQUIRE(feed(out));
  BOOST_REQUIRE_EQUAL(got.messages.size(), 1u);
  BOOST_CHECK(got.messages[0].empty());
  BOOST_CHECK_EQUAL(got.priorities[0], 2);
}

BOOST_AUTO_TEST_CASE(round_trip_sizes) {
  // Boundaries of the default body (65472 data bytes per frame) and of the
  // largest one (65519).
  // The first frame holds the priority byte and one message byte less.
  std::vector<size_t> sizes{0,      1,      2,      15,     16,     17,
                            100,    16383,  16384,  16385,  65470,  65471,
                            65472,  65473,  65518,  65519,  65520,  65535,
                            65536,  130942, 130943, 130944, 130945, 196415,
                            196416, 196417, 200000};
  sizes.push_back(max_msg - 1);
  sizes.push_back(max_msg);
  for (auto size : sizes) {
    auto msg = pattern(size, static_cast<uint8_t>(size));
    byte_buffer out;
    BOOST_REQUIRE_MESSAGE(enc.encode_message(msg, 2, out), "size " << size);
    BOOST_CHECK_EQUAL(out.size(), enc.encoded_size(size));
    got.messages.clear();
    BOOST_REQUIRE(feed(out));
    BOOST_REQUIRE_EQUAL(got.messages.size(), 1u);
    BOOST_CHECK_MESSAGE(got.messages[0] == msg, "size " << size);
    BOOST_CHECK_EQUAL(dec.buffered(), 0u);
    BOOST_CHECK_EQUAL(dec.reassembling(), 0u);
  }
}

BOOST_AUTO_TEST_CASE(reassembly_after_large_and_small_messages) {
  // The reassembly buffer is reused (or released above 256 KiB) between
  // messages; stale bytes of a longer message must never leak into a
  // shorter one.
  for (size_t size : {size_t{300000}, size_t{70000}, size_t{200000},
                      size_t{65473}, size_t{131000}, size_t{65473}}) {
    auto msg = pattern(size, static_cast<uint8_t>(size * 7));
    byte_buffer out;
    BOOST_REQUIRE(enc.encode_message(msg, 2, out));
    got.messages.clear();
    BOOST_REQUIRE(feed(out));
    BOOST_REQUIRE_EQUAL(got.messages.size(), 1u);
    BOOST_CHECK_MESSAGE(got.messages[0] == msg, "size " << size);
  }
}

BOOST_AUTO_TEST_CASE(taken_messages_own_their_bytes) {
  // take_message hands over the reassembly buffer of a fragmented message
  // (no copy) and copies a single-frame one; either way the result is the
  // whole message, and the decoder goes on with a fresh buffer.
  std::vector<byte_buffer> taken;
  std::vector<bool> handed_over;
  std::vector<uint8_t> prios;
  auto sink = [&](const frame_event& ev) {
    BOOST_REQUIRE(ev.kind == frame_event_kind::message);
    auto* origin = ev.message.data();
    taken.push_back(ev.take_message());
    handed_over.push_back(taken.back().data() == origin);
    prios.push_back(ev.priority);
  };
  const size_t sizes[] = {65536, 1024, 300000, 65536, 70000, 0, 65473};
  byte_buffer wire;
  for (size_t i = 0; i < std::size(sizes); ++i)
    BOOST_REQUIRE(enc.encode_message(pattern(sizes[i], static_cast<uint8_t>(i)),
                                     static_cast<uint8_t>(i), wire));
  BOOST_REQUIRE(dec.feed(wire, sink));
  BOOST_REQUIRE_EQUAL(taken.size(), std::size(sizes));
  for (size_t i = 0; i < std::size(sizes); ++i) {
    BOOST_CHECK_MESSAGE(taken[i] == pattern(sizes[i], static_cast<uint8_t>(i)),
                        "message " << i);
    BOOST_CHECK_EQUAL(prios[i], i);
    // Only messages of several frames sit in a buffer of their own.
    BOOST_CHECK_EQUAL(handed_over[i], sizes[i] + 1 > cfg.max_frame_body);
  }
}

BOOST_AUTO_TEST_CASE(largest_frames) {
  frame_codec_config big;
  big.max_frame_body = 100000; // clamped to 65519
  frame_encoder e{keyed(2), big};
  frame_decoder d{keyed(2)};
  BOOST_CHECK_EQUAL(e.config().max_frame_body, 65519u);
  for (size_t size : {65517, 65518, 65519, 131037, 131038}) {
    auto msg = pattern(size);
    byte_buffer out;
    BOOST_REQUIRE(e.encode_message(msg, 2, out));
    BOOST_CHECK_EQUAL(out.size(), e.encoded_size(size));
    collected c;
    BOOST_REQUIRE(d.feed(out, c.sink()));
    BOOST_REQUIRE_EQUAL(c.messages.size(), 1u);
    BOOST_CHECK(c.messages[0] == msg);
  }
  // One frame with the priority byte and 65518 message bytes carries a full
  // 65535-byte body ciphertext.
  byte_buffer one;
  BOOST_REQUIRE(e.encode_message(pattern(65518), 2, one));
  BOOST_CHECK_EQUAL(one.size(), frame_header_len + 65535);
}

BOOST_AUTO_TEST_CASE(oversized_message_is_refused_on_send) {
  byte_buffer out{0x55};
  auto big = pattern(max_msg + 1);
  auto res = enc.encode_message(big, 2, out);
  BOOST_CHECK_EQUAL(res.code(), errc::message_too_large);
  BOOST_CHECK_EQUAL(out.size(), 1u); // nothing sent
  // Not fatal: the next message goes through and decodes.
  BOOST_REQUIRE(enc.encode_message(pattern(10), 2, out));
  BOOST_REQUIRE(feed(const_byte_span{out}.subspan(1)));
  BOOST_CHECK_EQUAL(got.messages.size(), 1u);
}

BOOST_AUTO_TEST_CASE(forged_declared_size_is_refused_before_allocating) {
  frame_codec_config big_cfg;
  big_cfg.max_message_size = 4 * max_msg;
  frame_encoder liar{keyed(1), big_cfg};
  byte_buffer out;
  BOOST_REQUIRE(liar.encode_message(pattern(max_msg + 1), 2, out));
  // Only the first header: the decoder refuses on it, before the body.
  auto res = feed(const_byte_span{out}.subspan(0, frame_header_len));
  BOOST_CHECK_EQUAL(res.code(), errc::message_too_large);
  BOOST_CHECK(dec.failed());
  BOOST_CHECK_EQUAL(dec.reassembling(), 0u);
  BOOST_CHECK_EQUAL(dec.buffered(), 0u);
  BOOST_CHECK(got.messages.empty());
  // Stays failed.
  res = feed(const_byte_span{out}.subspan(frame_header_len));
  BOOST_CHECK_EQUAL(res.code(), errc::message_too_large);
}

BOOST_AUTO_TEST_CASE(huge_declared_size_is_refused) {
  auto frame = raw_stream({{1, UINT32_MAX, pattern(3)}});
  BOOST_CHECK_EQUAL(feed(frame).code(), errc::message_too_large);
  BOOST_CHECK_EQUAL(dec.reassembling(), 0u);
  // Exactly the limit is fine, one more is not.
  frame_decoder at_limit{keyed(1)};
  auto ok = raw_stream({{1, static_cast<uint32_t>(max_msg), pattern(3)}});
  BOOST_CHECK(at_limit.feed(ok, [](const frame_event&) {}));
  BOOST_CHECK_EQUAL(at_limit.reassembling(), 2u); // behind the priority byte
  frame_decoder above{keyed(1)};
  auto bad = raw_stream({{1, static_cast<uint32_t>(max_msg + 1), pattern(3)}});
  BOOST_CHECK_EQUAL(above.feed(bad, [](const frame_event&) {}).code(),
                    errc::message_too_large);
}

BOOST_AUTO_TEST_CASE(byte_by_byte_small_messages) {
  byte_buffer out;
  BOOST_REQUIRE(enc.encode_message(pattern(0), 2, out));
  BOOST_REQUIRE(enc.encode_message(pattern(37), 2, out));
  BOOST_REQUIRE(enc.encode_keepalive(out));
  BOOST_REQUIRE(enc.encode_message(pattern(1000), 2, out));
  for (auto b : out) {
    BOOST_REQUIRE(feed(const_byte_span{&b, 1}));
    BOOST_REQUIRE_LE(dec.buffered(), frame_header_len + 65535);
  }
  BOOST_REQUIRE_EQUAL(got.messages.size(), 3u);
  BOOST_CHECK(got.messages[0].empty());
  BOOST_CHECK(got.messages[1] == pattern(37));
  BOOST_CHECK(got.messages[2] == pattern(1000));
  BOOST_CHECK_EQUAL(got.keepalives, 1);
  BOOST_CHECK_EQUAL(dec.buffered(), 0u);
}

BOOST_AUTO_TEST_CASE(byte_by_byte_fragmented_message) {
  frame_codec_config small;
  small.max_frame_body = 64;
  frame_encoder e{keyed(5), small};
  frame_decoder d{keyed(5), small};
  auto msg = pattern(1000, 9);
  byte_buffer out;
  BOOST_REQUIRE(e.encode_message(msg, 2, out));
  BOOST_REQUIRE(e.encode_close(2, "", out));
  collected c;
  for (auto b : out)
    BOOST_REQUIRE(d.feed(const_byte_span{&b, 1}, c.sink()));
  BOOST_REQUIRE_EQUAL(c.messages.size(), 1u);
  BOOST_CHECK(c.messages[0] == msg);
  BOOST_CHECK_EQUAL(c.closes, 1);
  BOOST_CHECK_EQUAL(c.close_reason, 2);
}

BOOST_AUTO_TEST_CASE(random_chunking_of_large_messages) {
  byte_buffer out;
  std::vector<byte_buffer> sent;
  for (size_t size : {max_msg, size_t{70000}, size_t{1}, size_t{300000}}) {
    sent.push_back(pattern(size, static_cast<uint8_t>(sent.size())));
    BOOST_REQUIRE(enc.encode_message(sent.back(), 2, out));
  }
  BOOST_REQUIRE(feed_randomly(out, 100000, 7));
  BOOST_REQUIRE_EQUAL(got.messages.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i)
    BOOST_CHECK(got.messages[i] == sent[i]);
}

BOOST_AUTO_TEST_CASE(small_random_chunks) {
  byte_buffer out;
  auto msg = pattern(150000, 3);
  BOOST_REQUIRE(enc.encode_message(msg, 2, out));
  BOOST_REQUIRE(feed_randomly(out, 40, 11));
  BOOST_REQUIRE_EQUAL(got.messages.size(), 1u);
  BOOST_CHECK(got.messages[0] == msg);
}

BOOST_AUTO_TEST_CASE(reassembly_progress) {
  byte_buffer out;
  BOOST_REQUIRE(enc.encode_message(pattern(200000), 2, out));
  auto first = frame_header_len + 65472 + tag_len;
  BOOST_REQUIRE(feed(const_byte_span{out}.subspan(0, first)));
  BOOST_CHECK_EQUAL(dec.reassembling(), 65471u);
  BOOST_CHECK_EQUAL(dec.buffered(), 0u);
  BOOST_REQUIRE(feed(const_byte_span{out}.subspan(first, frame_header_len)));
  BOOST_CHECK_EQUAL(dec.reassembling(), 65471u);
  BOOST_REQUIRE(feed(const_byte_span{out}.subspan(first + frame_header_len)));
  BOOST_CHECK_EQUAL(dec.reassembling(), 0u);
  BOOST_REQUIRE_EQUAL(got.messages.size(), 1u);
  BOOST_CHECK(got.messages[0] == pattern(200000));
}

BOOST_AUTO_TEST_CASE(bit_flips_are_fatal) {
  byte_buffer out;
  BOOST_REQUIRE(enc.encode_message(pattern(5000), 2, out));
  auto good_len = out.size();
  BOOST_REQUIRE(enc.encode_message(pattern(10), 2, out));
  // Every flipped position fails, in the header or in the body.
  for (size_t pos : {size_t{0}, size_t{6}, size_t{22}, size_t{23}, size_t{100},
                     good_len - 1}) {
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

BOOST_AUTO_TEST_CASE(bit_flip_in_a_later_fragment) {
  // Fragments open straight into the reassembly buffer: a forged one fails
  // and the partial message is dropped.
  byte_buffer out;
  BOOST_REQUIRE(enc.encode_message(pattern(200000), 2, out));
  auto second_body = 2 * frame_header_len + 65472 + tag_len;
  out[second_body + 1000] ^= 1;
  auto res = feed(out);
  BOOST_CHECK_EQUAL(res.code(), errc::decrypt_failed);
  BOOST_CHECK_EQUAL(dec.reassembling(), 0u);
  BOOST_CHECK(got.messages.empty());
}

BOOST_AUTO_TEST_CASE(wrong_key_fails) {
  byte_buffer out;
  BOOST_REQUIRE(enc.encode_message(pattern(10), 2, out));
  frame_decoder other{keyed(2)};
  auto res = other.feed(out, [](const frame_event&) {});
  BOOST_CHECK_EQUAL(res.code(), errc::decrypt_failed);
}

BOOST_AUTO_TEST_CASE(dropped_frame_is_detected) {
  byte_buffer a;
  byte_buffer b;
  BOOST_REQUIRE(enc.encode_message(pattern(10), 2, a));
  BOOST_REQUIRE(enc.encode_message(pattern(10), 2, b));
  BOOST_CHECK_EQUAL(feed(b).code(), errc::decrypt_failed);
}

BOOST_AUTO_TEST_CASE(replayed_frame_is_detected) {
  byte_buffer a;
  BOOST_REQUIRE(enc.encode_message(pattern(10), 2, a));
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
    BOOST_REQUIRE(e.encode_message(sent.back(), 2, out));
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
  // frame after a rekey (a rekey frame is a header alone: one nonce), the
  // rekeyed one can.
  frame_codec_config no_auto = small;
  no_auto.rekey_interval = 0;
  frame_encoder f{keyed(4), no_auto};
  byte_buffer rekey_frame;
  byte_buffer after;
  BOOST_REQUIRE(f.encode_rekey(rekey_frame));
  BOOST_CHECK_EQUAL(rekey_frame.size(), frame_header_len);
  BOOST_REQUIRE(f.encode_message(pattern(5), 2, after));
  auto old_key = keyed(4);
  old_key.set_nonce(1);
  byte_buffer plain;
  BOOST_CHECK(!old_key.decrypt_with_ad(
    {}, const_byte_span{after}.subspan(0, frame_header_len), plain));
  BOOST_REQUIRE(old_key.rekey());
  BOOST_CHECK(old_key.decrypt_with_ad(
    {}, const_byte_span{after}.subspan(0, frame_header_len), plain));
}

BOOST_AUTO_TEST_CASE(automatic_rekey_interval) {
  frame_codec_config c2;
  c2.rekey_interval = 2;
  frame_encoder e{keyed(1), c2};
  byte_buffer out;
  for (int i = 0; i < 5; ++i)
    BOOST_REQUIRE(e.encode_keepalive(out));
  // k k R k k R k: 5 keepalives and 2 rekeys, each a 23-byte header alone.
  BOOST_CHECK_EQUAL(out.size(), 7u * 23);
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
  BOOST_CHECK_EQUAL(quiet.size(), 100u * 23);
}

BOOST_AUTO_TEST_CASE(keepalive_and_close) {
  byte_buffer out;
  BOOST_REQUIRE(enc.encode_keepalive(out));
  BOOST_REQUIRE(enc.encode_message(pattern(3), 2, out));
  BOOST_REQUIRE(enc.encode_close(0x1234, "going away", out));
  BOOST_CHECK_EQUAL(enc.encode_keepalive(out).code(), errc::handshake_state);
  BOOST_CHECK_EQUAL(enc.encode_message(pattern(1), 2, out).code(),
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

BOOST_AUTO_TEST_CASE(close_without_text_is_a_header_alone) {
  byte_buffer out;
  BOOST_REQUIRE(enc.encode_close(0xBEEF, "", out));
  BOOST_CHECK_EQUAL(out.size(), frame_header_len);
  BOOST_REQUIRE(feed(out));
  BOOST_CHECK_EQUAL(got.closes, 1);
  BOOST_CHECK_EQUAL(got.close_reason, 0xBEEF);
  BOOST_CHECK(got.close_text.empty());
  BOOST_CHECK(dec.closed());
  // A genuine frame after the close is still a violation.
  frame_decoder d{keyed(1)};
  byte_buffer wire = raw_stream({{5, 1, {}}, {3, 0, {}}});
  BOOST_CHECK_EQUAL(d.feed(wire, [](const frame_event&) {}).code(),
                    errc::malformed_message);
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
  BOOST_REQUIRE(e.encode_message(msg, 2, out));
  BOOST_CHECK_EQUAL(out.size(), e.encoded_size(msg.size()));
  // The priority byte and 1000 message bytes: ceil(1001 / 16) frames.
  BOOST_CHECK_EQUAL(out.size(), 63u * (23 + 16) + 1001);
  BOOST_REQUIRE(e.encode_close(1, "0123456789abcdefXYZ", out));
  collected c;
  BOOST_REQUIRE(d.feed(out, c.sink()));
  BOOST_REQUIRE_EQUAL(c.messages.size(), 1u);
  BOOST_CHECK(c.messages[0] == msg);
  BOOST_CHECK_EQUAL(c.close_text, "0123456789abcdef"); // one 16-byte body
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
  BOOST_REQUIRE(x.encoder.encode_message(pattern(77), 2, wire));
  collected c;
  BOOST_REQUIRE(y.decoder.feed(wire, c.sink()));
  wire.clear();
  BOOST_REQUIRE(y.encoder.encode_message(pattern(88), 2, wire));
  BOOST_REQUIRE(x.decoder.feed(wire, c.sink()));
  BOOST_REQUIRE_EQUAL(c.messages.size(), 2u);
  BOOST_CHECK(c.messages[1] == pattern(88));
}

// -- malformed frames, sealed correctly ---------------------------------------

BOOST_AUTO_TEST_CASE(malformed_frames) {
  struct case_t {
    const char* what;
    std::vector<raw> frames;
  };
  auto first = [](uint32_t total, size_t n) {
    return raw{1, total, pattern(n)};
  };
  auto cont = [](size_t n) {
    return raw{2, 0, pattern(n)};
  };
  std::vector<case_t> cases{
    {"type 0", {{0, 0, {}}}},
    {"unknown type", {{7, 0, {}}}},
    {"type 255 with a body", {{0xFF, 0, pattern(3)}}},
    {"continuation without a message", {cont(3)}},
    {"first fragment longer than its total", {first(2, 4)}},
    {"message-first without its priority byte", {{1, 5, {}}}},
    {"empty message without its priority byte", {{1, 0, {}}}},
    {"empty first fragment of a non-empty message", {first(5, 1)}},
    {"fragments overrun the total", {first(10, 3), cont(9)}},
    {"empty continuation", {first(10, 3), {2, 0, {}}}},
    {"continuation with a value", {first(10, 3), {2, 1, pattern(7)}}},
    {"new message inside another", {first(10, 3), first(3, 3)}},
    {"empty message inside another", {first(10, 3), first(0, 1)}},
    {"choose with a value", {{6, 1, {}}}},
    {"choose with a body", {{6, 0, pattern(2)}}},
    {"keepalive with a value", {{3, 1, {}}}},
    {"keepalive with a body", {{3, 0, pattern(1)}}},
    {"rekey with a value", {{4, 0x10000, {}}}},
    {"rekey with a body", {{4, 0, pattern(5)}}},
    {"close reason above 16 bits", {{5, 0x10000, {}}}},
    {"data after a close", {{5, 1, {}}, first(3, 3)}},
    {"data after a close with text", {{5, 1, pattern(4)}, {3, 0, {}}}},
  };
  for (auto& c : cases) {
    frame_decoder d{keyed(1)};
    int messages = 0;
    auto res = d.feed(raw_stream(c.frames), [&](const frame_event& ev) {
      if (ev.kind == frame_event_kind::message)
        ++messages;
    });
    BOOST_CHECK_MESSAGE(res.code() == errc::malformed_message,
                        c.what << ": " << res.error().message());
    BOOST_CHECK_MESSAGE(messages == 0, c.what);
    BOOST_CHECK(d.failed());
    BOOST_CHECK_EQUAL(d.reassembling(), 0u);
  }
}

BOOST_AUTO_TEST_CASE(body_length_too_short_for_a_tag_and_a_byte) {
  // Declared body lengths 1..16 are refused on the header, for every type;
  // the header alone (a body is never read) is enough.
  for (uint8_t type : {1, 2, 3, 4, 5, 6}) {
    for (size_t declared : {1, 2, 15, 16}) {
      auto frame = raw_stream({{type, type == 1 ? 5u : 0u, {}, declared}});
      BOOST_REQUIRE_EQUAL(frame.size(), frame_header_len);
      frame_decoder d{keyed(1)};
      auto res = d.feed(frame, [](const frame_event&) {
        BOOST_FAIL("no event expected");
      });
      BOOST_CHECK_EQUAL(res.code(), errc::malformed_message);
    }
  }
}

BOOST_AUTO_TEST_CASE(crafted_well_formed_frames) {
  auto wire = raw_stream({
    {1, 0, {0xFF}},                  // empty message, priority 255
    {6, 0, {}},                      // choose
    {1, 3, {0, 7, 8, 9}},            // single-frame message, priority 0
    {5, 0xABCD, {'b', 'y', 'e', 0}}, // close with text
  });
  BOOST_REQUIRE(feed(wire));
  BOOST_REQUIRE_EQUAL(got.messages.size(), 2u);
  BOOST_CHECK(got.messages[0].empty());
  BOOST_CHECK((got.messages[1] == byte_buffer{7, 8, 9}));
  BOOST_CHECK((got.priorities == std::vector<uint8_t>{0xFF, 0}));
  BOOST_CHECK_EQUAL(got.chooses, 1);
  BOOST_CHECK_EQUAL(got.close_reason, 0xABCD);
  BOOST_CHECK_EQUAL(got.close_text, std::string("bye\0", 4));
}

BOOST_AUTO_TEST_CASE(control_frames_between_fragments) {
  auto wire = raw_stream({
    {1, 6, {4, 1, 2}},
    {3, 0, {}},
    {2, 0, {3, 4}},
    {3, 0, {}},
    {2, 0, {5, 6}},
  });
  BOOST_REQUIRE(feed(wire));
  BOOST_REQUIRE_EQUAL(got.messages.size(), 1u);
  BOOST_CHECK((got.messages[0] == byte_buffer{1, 2, 3, 4, 5, 6}));
  BOOST_CHECK_EQUAL(got.keepalives, 2);
  // The encoder's automatic rekeys land between fragments too.
  frame_codec_config every;
  every.rekey_interval = 1;
  every.max_frame_body = 16;
  frame_encoder e{keyed(6), every};
  frame_decoder d{keyed(6), every};
  byte_buffer out;
  auto msg = pattern(100);
  BOOST_REQUIRE(e.encode_message(msg, 2, out));
  BOOST_REQUIRE(e.encode_close(3, "x", out));
  collected c;
  BOOST_REQUIRE(d.feed(out, c.sink()));
  BOOST_REQUIRE_EQUAL(c.messages.size(), 1u);
  BOOST_CHECK(c.messages[0] == msg);
  // One before each of the 6 later fragments, one before the close.
  BOOST_CHECK_EQUAL(c.rekeys, 7);
}

BOOST_AUTO_TEST_SUITE_END()
