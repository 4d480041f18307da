// libFuzzer target: the stream frame decoder (transport/noise/frame_codec).
//
// Both ends use fixed keys, so inputs can reach past decryption. Byte 0
// selects the mode (modulo 3); byte 1 seeds the chunking of the feed:
//   0 raw      the rest is wire bytes, fed as they are: garbage, or genuine
//              frames sealed with the fixed key (the seeds hold some).
//   1 sealed   the rest is records of a header plaintext `[u16 BE body
//              ciphertext length L][u8 type][u32 BE value]`, followed by
//              L - 16 body bytes when L >= 17; each record is sealed as one
//              frame (header, then the body if L >= 17) with the fixed key,
//              rekeying the sealer after a well-formed rekey header. The header
//              parser thus sees arbitrary types, values and lengths
//              (0, 1..16, 17..65535) and the bodies arbitrary fragments and
//              close texts.
//   2 encode   the rest drives a frame_encoder (messages with a priority,
//              keepalives, rekeys, chooses, close) with a small frame size
//              and rekey interval; the decoder must return exactly what was
//              encoded, priorities included.
// Invariants checked in every mode: bounded buffering, a failed decoder
// stays failed with the same code, no message above the maximum.
//
// To regenerate the seed corpus:
//   CRUST_FUZZ_WRITE_SEEDS=tests/fuzz/corpus/frame_decoder \
//     ./build/fuzz/tests/fuzz/frame_decoder_fuzz -runs=0

#include "crust/transport/noise/frame_codec.hpp"

#include "fuzz_support.hpp"

#include <cstdint>
#include <string>
#include <vector>

using namespace crust;
using namespace crust::noise;
using namespace crust::fuzz;

namespace {

/// Small limits so that refusals are reachable with short inputs.
constexpr size_t fuzz_max_message = 64 * 1024;

/// What both ends start with: ChaChaPoly under a fixed key.
cipher_state fixed_cipher() {
  return fuzz::fixed_cipher(cipher_kind::chacha_poly, 0x5C);
}

frame_codec_config fuzz_config() {
  frame_codec_config cfg;
  cfg.max_message_size = fuzz_max_message;
  return cfg;
}

struct event_record {
  frame_event_kind kind;
  byte_buffer bytes;
  uint16_t reason = 0;
  uint8_t priority = 0;
};

/// Feeds `wire` in pieces chosen by a small LCG seeded from the input and
/// checks the decoder's invariants; returns what it yielded.
std::vector<event_record> decode(frame_decoder& dec, const byte_buffer& wire,
                                 uint8_t seed, status& final_status) {
  std::vector<event_record> out;
  auto sink = [&](const frame_event& ev) {
    require(ev.kind != frame_event_kind::message
            || ev.message.size() <= dec.config().max_message_size);
    event_record rec{ev.kind, ev.message.to_buffer(), ev.close_reason,
                     ev.priority};
    if (ev.kind == frame_event_kind::close)
      rec.bytes.assign(ev.close_text.begin(), ev.close_text.end());
    out.push_back(std::move(rec));
  };
  uint32_t state = seed * 2654435761u + 1;
  size_t pos = 0;
  final_status = status{};
  while (pos < wire.size()) {
    state = state * 1103515245u + 12345u;
    size_t piece = 1 + (state >> 16) % (seed % 4 == 0 ? 70000 : 300);
    if (piece > wire.size() - pos)
      piece = wire.size() - pos;
    auto res = dec.feed(const_byte_span{wire}.subspan(pos, piece), sink);
    pos += piece;
    // A header or a body is buffered, never both.
    require(dec.buffered() <= 65535);
    require(dec.reassembling() <= dec.config().max_message_size);
    if (!res) {
      require(dec.failed());
      // Dead for good, and for the same reason.
      auto again = dec.feed(const_byte_span{wire}.subspan(pos), sink);
      require(!again && again.code() == res.code());
      final_status = res;
      break;
    }
  }
  return out;
}

void run_raw(reader& in, uint8_t seed) {
  frame_decoder dec{fixed_cipher(), fuzz_config()};
  auto rest = in.take(in.size);
  byte_buffer wire(rest.begin(), rest.end());
  status st;
  decode(dec, wire, seed, st);
}

void run_sealed(reader& in, uint8_t seed) {
  auto sealer = fixed_cipher();
  byte_buffer wire;
  while (!in.empty()) {
    // The record starts with the header plaintext as it is sealed.
    byte_buffer header(7, 0);
    for (auto& b : header)
      b = in.u8();
    auto len = (size_t{header[0]} << 8) | header[1];
    auto type = header[2];
    require(static_cast<bool>(sealer.encrypt_with_ad({}, header, wire)));
    // Lengths 1..16 are refused on the header: no body follows. Longer ones
    // get exactly the body they declare (zero-padded past the input's end),
    // so a tag never fails.
    if (len > tag_len) {
      auto data = in.take(len - tag_len);
      byte_buffer body(data.begin(), data.end());
      body.resize(len - tag_len, 0);
      require(static_cast<bool>(sealer.encrypt_with_ad({}, body, wire)));
    }
    bool zero_value = header[3] == 0 && header[4] == 0 && header[5] == 0
                      && header[6] == 0;
    if (type == static_cast<uint8_t>(frame_type::rekey) && zero_value
        && len == 0)
      require(static_cast<bool>(sealer.rekey()));
  }
  frame_decoder dec{fixed_cipher(), fuzz_config()};
  status st;
  decode(dec, wire, seed, st);
  // Every frame is sealed correctly: authentication never fails.
  require(st || st.code() != errc::decrypt_failed);
}

void run_encode(reader& in, uint8_t seed) {
  // Tiny frames make many of them per message: keep messages short.
  frame_codec_config cfg = fuzz_config();
  cfg.max_message_size = 4096;
  cfg.max_frame_body = 16 + in.u8() % 200;
  cfg.rekey_interval = in.u8() % 8;
  frame_encoder enc{fixed_cipher(), cfg};
  frame_decoder dec{fixed_cipher(), cfg};
  byte_buffer wire;
  std::vector<event_record> expected;
  bool closed = false;
  while (!in.empty() && !closed) {
    switch (in.u8() % 5) {
      case 0: {
        // Message sizes up to the maximum plus a little.
        auto prio = in.u8();
        auto n = in.u16() % (cfg.max_message_size + 100);
        auto data = in.take(n);
        byte_buffer msg(data.begin(), data.end());
        msg.resize(n, 0xA5);
        auto res = enc.encode_message(msg, prio, wire);
        if (msg.size() > cfg.max_message_size) {
          require(res.code() == errc::message_too_large);
        } else {
          require(static_cast<bool>(res));
          expected.push_back(
            {frame_event_kind::message, std::move(msg), 0, prio});
        }
        break;
      }
      case 1:
        require(static_cast<bool>(enc.encode_keepalive(wire)));
        expected.push_back({frame_event_kind::keepalive, {}});
        break;
      case 2: require(static_cast<bool>(enc.encode_rekey(wire))); break;
      case 3:
        require(static_cast<bool>(enc.encode_choose(wire)));
        expected.push_back({frame_event_kind::choose, {}});
        break;
      default: {
        auto reason = static_cast<uint16_t>(in.u16());
        auto text = in.take(in.u8());
        require(static_cast<bool>(enc.encode_close(
          reason,
          std::string_view{reinterpret_cast<const char*>(text.data()),
                           text.size()},
          wire)));
        auto room = std::min(max_close_text, enc.config().max_frame_body);
        byte_buffer kept(text.begin(),
                         text.begin() + std::min(room, text.size()));
        expected.push_back({frame_event_kind::close, std::move(kept), reason});
        closed = true;
      }
    }
  }
  status st;
  auto got = decode(dec, wire, seed, st);
  require(static_cast<bool>(st));
  // Rekey events are the decoder's business; compare everything else.
  size_t j = 0;
  for (auto& ev : got) {
    if (ev.kind == frame_event_kind::rekey)
      continue;
    require(j < expected.size());
    require(ev.kind == expected[j].kind);
    require(ev.bytes == expected[j].bytes);
    require(ev.reason == expected[j].reason);
    require(ev.priority == expected[j].priority);
    ++j;
  }
  require(j == expected.size());
}

// -- seeds --------------------------------------------------------------------

void write_seeds(const std::string& dir) {
  // Raw mode: genuine wire bytes from an encoder with the fixed key.
  {
    frame_codec_config cfg = fuzz_config();
    cfg.rekey_interval = 3;
    cfg.max_frame_body = 256;
    frame_encoder enc{fixed_cipher(), cfg};
    byte_buffer wire{0, 7};
    byte_buffer small(40, 0x11);
    byte_buffer big(70000, 0x22);
    byte_buffer empty;
    require(static_cast<bool>(enc.encode_message(small, 0, wire)));
    require(static_cast<bool>(enc.encode_keepalive(wire)));
    require(static_cast<bool>(enc.encode_choose(wire)));
    require(static_cast<bool>(enc.encode_message(empty, 255, wire)));
    require(
      static_cast<bool>(enc.encode_message(byte_buffer(1500, 3), 4, wire)));
    require(static_cast<bool>(enc.encode_close(3, "bye", wire)));
    write_file(dir, "raw_valid_stream", wire);
    frame_codec_config large = cfg;
    large.max_message_size = 1 << 20;
    frame_encoder liar{fixed_cipher(), large};
    byte_buffer over{3, 4};
    require(static_cast<bool>(liar.encode_message(big, 1, over)));
    over.resize(2 + frame_header_len + 600);
    write_file(dir, "raw_oversized_declared", over);
    write_file(dir, "raw_garbage", byte_buffer{0, 1, 0xDE, 0xAD, 0xBE, 0xEF});
  }
  // Sealed mode: records `[u16 body length][type][u32 value][body]`.
  auto record = [](byte_buffer& out, uint8_t type, uint32_t value,
                   const byte_buffer& body) {
    auto len = body.empty() ? size_t{0} : body.size() + tag_len;
    out.insert(out.end(),
               {static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len), type,
                static_cast<uint8_t>(value >> 24),
                static_cast<uint8_t>(value >> 16),
                static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)});
    out.insert(out.end(), body.begin(), body.end());
  };
  {
    byte_buffer in{1, 9};
    // A message-first body starts with the priority byte.
    record(in, 1, 6, {3, 'a', 'b'});
    record(in, 3, 0, {});
    record(in, 4, 0, {});
    record(in, 2, 0, {'c', 'd'});
    record(in, 6, 0, {});
    record(in, 2, 0, {'e', 'f'});
    record(in, 1, 0, {7});
    record(in, 1, 2, {0, 'g', 'h'});
    record(in, 5, 1, {'o', 'k'});
    write_file(dir, "sealed_fragments", in);
    byte_buffer bad{1, 3};
    record(bad, 2, 0, {1});
    record(bad, 9, 0, {});
    write_file(dir, "sealed_orphan_continuation", bad);
    byte_buffer big{1, 5};
    record(big, 1, 0x7FFFFFFF, {1});
    write_file(dir, "sealed_huge_total", big);
    byte_buffer overrun{1, 2};
    record(overrun, 1, 3, {2, 'a'});
    record(overrun, 2, 0, {'b', 'c', 'd'});
    write_file(dir, "sealed_overrun", overrun);
    // Declared body lengths 1..16 and a nonzero value where 0 is required.
    byte_buffer short_body{1, 6, 0, 16, 3, 0, 0, 0, 0};
    write_file(dir, "sealed_short_body", short_body);
    byte_buffer value{1, 8};
    record(value, 3, 0, {});
    record(value, 6, 1, {});
    record(value, 4, 1, {});
    write_file(dir, "sealed_nonzero_value", value);
    byte_buffer closing{1, 4};
    record(closing, 5, 0xFFFF, {});
    record(closing, 3, 0, {});
    write_file(dir, "sealed_close_then_data", closing);
  }
  // Encode mode: op sequences.
  {
    // Ops: 0 message (priority, u16 size, bytes), 1 keepalive, 2 rekey,
    // 3 choose, 4 close (u16 reason, u8 text length, text).
    byte_buffer ops{2, 4, 10, 2};
    ops.insert(ops.end(), {0, 5, 0, 5, 'h', 'e', 'l', 'l', 'o'});
    ops.insert(ops.end(), {1, 3, 2, 0, 0x80, 0x40});
    ops.insert(ops.end(), {0, 0xFF, 0, 0});
    ops.insert(ops.end(), {4, 0, 9, 4, 'd', 'o', 'n', 'e'});
    write_file(dir, "encode_sequence", ops);
    byte_buffer huge{2, 0, 200, 1, 0, 1, 0xFF, 0xFF};
    write_file(dir, "encode_large", huge);
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  return write_seeds_if_asked(write_seeds);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  reader in{data, size};
  auto mode = in.u8() % 3;
  auto seed = in.u8();
  switch (mode) {
    case 0: run_raw(in, seed); break;
    case 1: run_sealed(in, seed); break;
    default: run_encode(in, seed);
  }
  return 0;
}
