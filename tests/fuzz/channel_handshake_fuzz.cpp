// libFuzzer target: crust's channel handshake (transport/noise/
// channel_handshake), Noise XX in versioned envelopes, on either side and
// over either transport.
//
// Input layout:
//   byte 0   selector: bit 0 mode (0 raw, 1 peer), bit 1 side under test
//            (0 responder, 1 initiator, which calls start() first), bit 2
//            transport (0 stream via on_bytes, 1 datagram via on_datagram),
//            bit 3 AESGCM instead of ChaChaPoly, bit 4 BLAKE2s instead of
//            SHA256, bit 5 the side under test expects a peer id (the
//            genuine one; with bit 7 a wrong one), bit 6 the side under test
//            belongs to another network, bit 7 without bit 5: the peer
//            expects a wrong peer id from the side under test (peer mode),
//            or the responder under test refuses every initiator with a
//            configured refusal (raw mode).
//   raw      the rest is records `[u16 BE length][bytes]` (the last one may
//            be cut short): stream chunks or datagrams, delivered as they
//            are. Keys and ephemerals are fixed, so seeds carry the genuine
//            peer's envelopes.
//   peer     a genuine peer (a channel_handshake with fixed keys and
//            ephemerals) answers every envelope of the side under test, and
//            its flights queue up. The rest is a script of operations on the
//            oldest pending flight: flip, insert, truncate, erase, overwrite,
//            append garbage, deliver (with a chunking seed), deliver the
//            previous flight again, let the peer retransmit, merge the two
//            oldest flights, lose the oldest one.
//            When the script ends, pending flights are delivered as they are.
//
// Invariants (a broken one traps):
//   - done() and failed() are never both true; a failed handshake stays
//     failed, with the same error code, and appends nothing more;
//   - on_bytes consumes at most what it was given, and all of it unless it
//     fails or the handshake is done; an error result means failed();
//   - on_datagram fails exactly when the handshake is failed; a repeated
//     datagram gets the same answer; past message 1 (which nothing
//     authenticates) it accepts only byte-identical envelopes of the peer;
//   - finish() succeeds exactly when done(); start() on a responder or twice
//     fails and appends nothing;
//   - done() implies the peer's genuine static key was learned, never with a
//     mismatching network, a refused peer id or a configured refusal; a
//     responder with a configured refusal sends nothing but refusals; when
//     both sides are done,
//     their handshake hashes and transport keys agree.
//   - no datagram is answered with more bytes than it carried (spoofed
//     sources must gain no amplification); corpus/channel_handshake/crash-*
//     reproduce two violations found and fixed this way.
//     CRUST_FUZZ_AMPLIFICATION=0 switches this check off.
//
// To regenerate the seed corpus:
//   CRUST_FUZZ_WRITE_SEEDS=tests/fuzz/corpus/channel_handshake \
//     ./build/fuzz/tests/fuzz/channel_handshake_fuzz -runs=0

#include "crust/transport/noise/channel_handshake.hpp"

#include "fuzz_support.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <string>
#include <utility>
#include <vector>

using namespace crust;
using namespace crust::noise;
using namespace crust::fuzz;

namespace {

/// Opt-in check that datagram answers never exceed the datagram.
bool check_amplification = true;

/// The fixed static key (fixed_pair) of `side`: 1 for the initiator, 2 for
/// the responder; 3 and 4 are their ephemerals, 9 a stranger.
uint8_t static_of(role side) {
  return side == role::initiator ? 1 : 2;
}

role other(role side) {
  return side == role::initiator ? role::responder : role::initiator;
}

struct selection {
  bool peer_mode = false;
  role side = role::responder;
  bool datagram = false;
  suite algorithms;
  bool expect = false;
  bool expect_wrong = false;
  bool other_network = false;
  bool peer_expects_wrong = false;
  bool refuse = false;
};

selection select(uint8_t x) {
  selection sel;
  sel.peer_mode = (x & 0x01) != 0;
  sel.side = (x & 0x02) != 0 ? role::initiator : role::responder;
  sel.datagram = (x & 0x04) != 0;
  sel.algorithms.cipher = (x & 0x08) != 0 ? cipher_kind::aes_gcm
                                          : cipher_kind::chacha_poly;
  sel.algorithms.hash = (x & 0x10) != 0 ? hash_kind::blake2s
                                        : hash_kind::sha256;
  sel.expect = (x & 0x20) != 0;
  sel.expect_wrong = sel.expect && (x & 0x80) != 0;
  sel.other_network = (x & 0x40) != 0;
  // Without a peer (raw mode) nobody refuses us.
  sel.peer_expects_wrong = sel.peer_mode && !sel.expect && (x & 0x80) != 0;
  sel.refuse = !sel.peer_mode && sel.side == role::responder && !sel.expect
               && (x & 0x80) != 0;
  return sel;
}

channel_config make_config(const selection& sel, bool under_test) {
  auto side = under_test ? sel.side : other(sel.side);
  channel_config cfg;
  cfg.side = side;
  cfg.local_static = fixed_pair(static_of(side));
  cfg.network_name = under_test && sel.other_network ? "elsewhere" : "fuzz";
  if (under_test && sel.expect)
    cfg.expected_remote
      = fixed_pair(sel.expect_wrong ? 9 : static_of(other(side))).pub;
  if (!under_test && sel.peer_expects_wrong)
    cfg.expected_remote = fixed_pair(9).pub;
  if (under_test && sel.refuse)
    cfg.refusal = channel_refusal{refusal_reason::banned, "fuzz refusal"};
  cfg.algorithms = sel.algorithms;
  auto eph = side == role::initiator ? uint8_t{3} : uint8_t{4};
  cfg.ephemeral_source = [eph]() -> expected<keypair> {
    return fixed_pair(eph);
  };
  return cfg;
}

channel_handshake make(const selection& sel, bool under_test) {
  auto hs = channel_handshake::create(make_config(sel, under_test));
  require(static_cast<bool>(hs));
  return std::move(*hs);
}

/// Follows one handshake and checks the invariants that hold after any call.
struct tracked {
  channel_handshake hs;
  bool was_failed = false;
  errc code = errc::none;

  explicit tracked(channel_handshake x) : hs(std::move(x)) {
    // nop
  }

  void check() {
    require(!(hs.done() && hs.failed()));
    if (was_failed) {
      require(hs.failed());
      require(hs.error().code == code);
    } else if (hs.failed()) {
      was_failed = true;
      code = hs.error().code;
      require(code != errc::none);
    }
  }

  /// Initiator only, once: appends message 1 to `out`.
  void start(byte_buffer& out) {
    require(static_cast<bool>(hs.start(out)));
    check();
    // Neither twice nor on a responder; such misuse appends nothing.
    byte_buffer scratch;
    require(!hs.start(scratch));
    require(scratch.empty());
    check();
  }

  /// One on_bytes call; returns how much it consumed (0 on failure).
  size_t on_bytes(const_byte_span bytes, byte_buffer& out) {
    auto before = was_failed;
    auto mark = out.size();
    auto res = hs.on_bytes(bytes, out);
    check();
    if (!res) {
      require(hs.failed());
      require(res.error().code == code);
      if (before)
        require(out.size() == mark);
      return 0;
    }
    require(!hs.failed());
    require(*res <= bytes.size());
    require(*res == bytes.size() || hs.done());
    return *res;
  }

  /// One on_datagram call; returns whether it succeeded.
  bool on_datagram(const_byte_span datagram, byte_buffer& out) {
    auto before = was_failed;
    auto mark = out.size();
    auto res = hs.on_datagram(datagram, out);
    check();
    require(static_cast<bool>(res) == !hs.failed());
    if (!res) {
      require(res.code() == code);
      if (before)
        require(out.size() == mark);
    }
    if (check_amplification)
      require(out.size() - mark <= datagram.size());
    return static_cast<bool>(res);
  }

  /// finish() while not done must fail and change nothing.
  void finish_early() {
    if (hs.done())
      return;
    auto before = hs.failed();
    auto res = hs.finish();
    require(!res);
    require(hs.failed() == before);
    check();
  }

  /// finish() when done; returns the result or traps.
  channel_result finish() {
    require(hs.done());
    auto res = hs.finish();
    require(static_cast<bool>(res));
    check();
    auto again = hs.finish();
    require(!again);
    check();
    return std::move(*res);
  }
};

/// What a run ended with (for validating seeds).
struct outcome {
  bool me_done = false;
  bool peer_done = false;
};

/// Checks what a completed handshake of the side under test may claim.
void check_done(const selection& sel, tracked& me) {
  if (!me.hs.done())
    return;
  // Nobody but the genuine peer can complete: the fuzzer knows no private
  // keys but the fixed ones, and a network mismatch or a refused peer id
  // never completes.
  require(!sel.other_network);
  require(!sel.expect_wrong);
  require(!sel.refuse);
  require(!sel.peer_expects_wrong || sel.side == role::initiator);
  auto genuine = fixed_pair(static_of(other(sel.side))).pub;
  auto rs = me.hs.remote_static();
  require(rs.has_value() && *rs == genuine);
}

/// Both sides agree on the handshake hash and the transport keys.
void check_agreement(channel_result a, channel_result b) {
  require(a.keys.handshake_hash == b.keys.handshake_hash);
  const byte_buffer ping{'p', 'i', 'n', 'g'};
  for (int dir = 0; dir < 2; ++dir) {
    auto& tx = dir == 0 ? a.keys.send : b.keys.send;
    auto& rx = dir == 0 ? b.keys.receive : a.keys.receive;
    byte_buffer sealed;
    require(static_cast<bool>(tx.encrypt_with_ad({}, ping, sealed)));
    byte_buffer opened;
    require(static_cast<bool>(rx.decrypt_with_ad({}, sealed, opened)));
    require(opened == ping);
  }
}

// -- raw mode -----------------------------------------------------------------

outcome run_raw(const selection& sel, reader& in) {
  tracked me{make(sel, true)};
  byte_buffer out;
  if (sel.side == role::initiator)
    me.start(out);
  while (!in.empty()) {
    auto len = in.u16();
    auto record = in.take(len);
    out.clear();
    if (sel.datagram)
      me.on_datagram(record, out);
    else
      me.on_bytes(record, out);
    // A refusing responder spends no DH: it never writes message 2.
    if (sel.refuse)
      require(out.empty()
              || out[1] == static_cast<uint8_t>(envelope_kind::refusal));
    me.finish_early();
  }
  check_done(sel, me);
  outcome result;
  if (me.hs.done()) {
    result.me_done = true;
    me.finish();
  }
  return result;
}

// -- peer mode ----------------------------------------------------------------

struct peer_run {
  selection sel;
  tracked me;
  tracked peer;
  /// Flights from the peer not yet delivered, oldest first (the fuzzer
  /// edits the oldest).
  std::deque<byte_buffer> to_me;
  /// The last flight delivered to the side under test.
  byte_buffer previous;
  /// Every flight the peer produced, as it produced it.
  std::vector<byte_buffer> genuine;
  /// Datagrams: the first and the last one accepted as new, and the answer
  /// the last one got.
  bool accepted_any = false;
  byte_buffer first_accepted;
  byte_buffer last_accepted;
  byte_buffer last_answer;

  explicit peer_run(const selection& s)
    : sel(s), me(make(s, true)), peer(make(s, false)) {
    // nop
  }

  void from_peer(const byte_buffer& bytes) {
    if (bytes.empty())
      return;
    genuine.push_back(bytes);
    to_me.push_back(bytes);
  }

  /// The peer gets our bytes unchanged; its answer queues for us.
  void to_peer(const byte_buffer& bytes) {
    if (bytes.empty())
      return;
    byte_buffer reply;
    if (sel.datagram)
      peer.on_datagram(bytes, reply);
    else
      peer.on_bytes(bytes, reply);
    from_peer(reply);
  }

  void begin() {
    byte_buffer out;
    if (sel.side == role::initiator) {
      me.start(out);
      to_peer(out);
    } else {
      peer.start(out);
      from_peer(out);
      // start() is not for responders.
      byte_buffer scratch;
      require(!me.hs.start(scratch));
      require(scratch.empty());
      me.check();
    }
  }

  bool is_genuine(const byte_buffer& datagram) const {
    return std::find(genuine.begin(), genuine.end(), datagram) != genuine.end();
  }

  void deliver_datagram(const byte_buffer& datagram) {
    byte_buffer answer;
    if (me.on_datagram(datagram, answer)) {
      if (accepted_any && datagram == last_accepted) {
        // A retransmission gets the same answer again.
        require(answer == last_answer);
      } else {
        // Only message 1 is unauthenticated; beyond it, every envelope the
        // side under test accepts is the peer's, byte for byte.
        if (sel.side == role::initiator || accepted_any)
          require(is_genuine(datagram) || datagram == first_accepted);
        if (!accepted_any)
          first_accepted = datagram;
        accepted_any = true;
        last_accepted = datagram;
        last_answer = answer;
      }
    }
    to_peer(answer);
  }

  void deliver_stream(const byte_buffer& bytes, uint8_t chunking) {
    byte_buffer answer;
    uint32_t state = chunking * 2654435761u + 7;
    size_t pos = 0;
    while (pos < bytes.size()) {
      auto piece = bytes.size() - pos;
      if (chunking != 0) {
        state = state * 1103515245u + 12345u;
        piece = std::min(piece, size_t{1} + (state >> 16) % chunking);
      }
      auto chunk = const_byte_span{bytes}.subspan(pos, piece);
      auto used = me.on_bytes(chunk, answer);
      if (me.hs.failed() || used < piece)
        break; // failed, or done and the rest is for the framing layer
      pos += piece;
    }
    to_peer(answer);
  }

  void deliver(byte_buffer bytes, uint8_t chunking) {
    previous = bytes;
    if (sel.datagram)
      deliver_datagram(bytes);
    else
      deliver_stream(bytes, chunking);
    me.finish_early();
  }

  void deliver_next(uint8_t chunking) {
    if (to_me.empty())
      return;
    auto bytes = std::move(to_me.front());
    to_me.pop_front();
    deliver(std::move(bytes), chunking);
  }

  /// The flight the edits apply to (a new, empty one if none is pending).
  byte_buffer& front() {
    if (to_me.empty())
      to_me.emplace_back();
    return to_me.front();
  }

  void step(reader& in) {
    switch (in.u8() % 11) {
      case 0: { // flip bits
        auto pos = in.u16();
        auto mask = in.u8();
        auto& f = front();
        if (!f.empty())
          f[pos % f.size()] ^= mask != 0 ? mask : 1;
        break;
      }
      case 1: { // insert bytes
        auto& f = front();
        auto pos = in.u16() % (f.size() + 1);
        auto bytes = in.take(1 + in.u8() % 32);
        f.insert(f.begin() + static_cast<ptrdiff_t>(pos), bytes.begin(),
                 bytes.end());
        break;
      }
      case 2: { // truncate
        auto& f = front();
        f.resize(in.u16() % (f.size() + 1));
        break;
      }
      case 3: { // erase a range
        auto& f = front();
        auto pos = in.u16() % (f.size() + 1);
        auto n = std::min(f.size() - pos, size_t{in.u8()});
        auto first = f.begin() + static_cast<ptrdiff_t>(pos);
        f.erase(first, first + static_cast<ptrdiff_t>(n));
        break;
      }
      case 4: { // overwrite one byte
        auto pos = in.u16();
        auto value = in.u8();
        auto& f = front();
        if (!f.empty())
          f[pos % f.size()] = value;
        break;
      }
      case 5: { // append garbage
        auto bytes = in.take(in.u8());
        auto& f = front();
        f.insert(f.end(), bytes.begin(), bytes.end());
        break;
      }
      case 6: // deliver the oldest pending flight
        deliver_next(in.u8());
        break;
      case 7: // deliver the previous flight again
        deliver(previous, in.u8());
        break;
      case 8: // the peer retransmits its last envelope
        from_peer(peer.hs.last_envelope());
        break;
      case 9: // the two oldest flights travel together
        if (to_me.size() >= 2) {
          auto second = std::move(to_me[1]);
          to_me.erase(to_me.begin() + 1);
          to_me.front().insert(to_me.front().end(), second.begin(),
                               second.end());
        }
        break;
      default: // the oldest flight is lost
        if (!to_me.empty())
          to_me.pop_front();
    }
  }

  outcome finish(reader& in) {
    while (!in.empty())
      step(in);
    for (int i = 0; i < 8 && !to_me.empty(); ++i)
      deliver_next(0);
    check_done(sel, me);
    outcome result;
    result.me_done = me.hs.done();
    result.peer_done = peer.hs.done();
    if (result.me_done && result.peer_done)
      check_agreement(me.finish(), peer.finish());
    else if (result.me_done)
      me.finish();
    return result;
  }
};

outcome run_peer(const selection& sel, reader& in) {
  peer_run run{sel};
  run.begin();
  return run.finish(in);
}

outcome run(const uint8_t* data, size_t size) {
  if (size == 0)
    return {};
  reader in{data, size};
  auto sel = select(in.u8());
  return sel.peer_mode ? run_peer(sel, in) : run_raw(sel, in);
}

// -- seeds --------------------------------------------------------------------

/// The genuine peer's envelopes of an honest handshake, as raw-mode records
/// (stream mode cuts each one after 3 bytes to split a header).
byte_buffer raw_seed(uint8_t selector) {
  auto sel = select(selector);
  require(!sel.peer_mode);
  auto peer_sel = sel;
  peer_sel.peer_mode = true;
  peer_run honest{peer_sel};
  honest.begin();
  while (!honest.to_me.empty())
    honest.deliver_next(0);
  require(honest.me.hs.done() && honest.peer.hs.done());
  byte_buffer seed{selector};
  for (auto& env : honest.genuine) {
    if (sel.datagram) {
      append_record(seed, env);
    } else {
      append_record(seed, const_byte_span{env}.subspan(0, 3));
      append_record(seed, const_byte_span{env}.subspan(3));
    }
  }
  return seed;
}

void write_seeds(const std::string& dir) {
  struct peer_seed {
    const char* name;
    byte_buffer bytes;
    bool completes;
  };
  // Selector bits: 1 peer, 2 initiator, 4 datagram, 8 AESGCM, 16 BLAKE2s,
  // 32 expect peer id, 64 other network, 128 wrong peer id.
  std::vector<peer_seed> seeds{
    {"peer_responder_datagram", {0x05}, true},
    {"peer_initiator_datagram", {0x07}, true},
    {"peer_initiator_aesgcm_blake2s_expect", {0x3B}, true},
    {"peer_responder_other_network", {0x41}, false},
    {"peer_initiator_other_network", {0x43}, false},
    {"peer_initiator_expects_wrong", {0xA3}, false},
    {"peer_responder_refused_by_peer", {0x85}, false},
    // Stream, chunks of at most 5 bytes.
    {"peer_initiator_stream_chunked", {0x03, 6, 5}, true},
    // Datagram: message 2 bit-flipped (body byte 40), then the original
    // retransmitted by the peer.
    {"peer_initiator_flip_msg2", {0x07, 0, 0, 44, 0x10, 6, 0, 8, 6, 0}, false},
    // Datagram: message 1 delivered, then again (a retransmission).
    {"peer_responder_retransmit", {0x05, 6, 0, 7, 0}, true},
    // Datagram: message 2 lost, then retransmitted by the peer.
    {"peer_initiator_lost_msg2", {0x07, 10, 8, 6, 0}, true},
    // Stream: message 3 and a retransmitted copy arrive together.
    {"peer_responder_stream_merged", {0x01, 6, 0, 8, 9}, true},
    // Stream: message 3 truncated and then garbage appended.
    {"peer_responder_truncate",
     {0x01, 6, 0, 2, 0, 50, 5, 4, 0xDE, 0xAD, 0xBE, 0xEF},
     false},
  };
  for (auto& s : seeds) {
    auto res = run(s.bytes.data(), s.bytes.size());
    require(res.me_done == s.completes);
    write_file(dir, s.name, s.bytes);
  }
  // Raw mode: the honest peer's envelopes, recorded.
  struct raw_case {
    const char* name;
    uint8_t selector;
  };
  for (auto& c : {raw_case{"raw_responder_stream", 0x00},
                  raw_case{"raw_initiator_stream", 0x02},
                  raw_case{"raw_responder_datagram", 0x04},
                  raw_case{"raw_initiator_datagram", 0x06}}) {
    auto seed = raw_seed(c.selector);
    require(run(seed.data(), seed.size()).me_done);
    write_file(dir, c.name, seed);
  }
  // A genuine message 1 to a responder that refuses every initiator.
  for (auto& c : {raw_case{"raw_responder_refusing_stream", 0x80},
                  raw_case{"raw_responder_refusing_datagram", 0x84}}) {
    auto seed = raw_seed(static_cast<uint8_t>(c.selector & 0x7F));
    seed[0] = c.selector;
    require(!run(seed.data(), seed.size()).me_done);
    write_file(dir, c.name, seed);
  }
  // Message 1 with a low-order ephemeral key (zero): the responder's own
  // message 2 fails (its DH yields zero).
  {
    auto seed = raw_seed(0x04);
    auto e = seed.begin() + 1 + 2 + static_cast<ptrdiff_t>(envelope_header_len);
    std::fill(e, e + static_cast<ptrdiff_t>(dh_len), uint8_t{0});
    seed.resize(1 + 2 + envelope_header_len + 96);
    require(!run(seed.data(), seed.size()).me_done);
    write_file(dir, "raw_responder_low_order_e", seed);
  }
  // Raw garbage: a future version's envelope and a refusal.
  byte_buffer bad{0x04};
  append_record(bad, byte_buffer{2, 1, 0, 1});
  write_file(dir, "raw_datagram_unknown_version", bad);
  byte_buffer refusal{0x02};
  append_record(refusal, byte_buffer{1, 2, 0, 4, 3, 'n', 'o', '!'});
  write_file(dir, "raw_initiator_refusal", refusal);
  byte_buffer banned{0x02};
  append_record(banned, byte_buffer{1, 2, 0, 4, 4, 'b', 'a', 'n'});
  write_file(dir, "raw_initiator_refusal_banned", banned);
  byte_buffer not_listed{0x06};
  append_record(not_listed, byte_buffer{1, 2, 0, 1, 5});
  write_file(dir, "raw_initiator_refusal_not_whitelisted", not_listed);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* amp = std::getenv("CRUST_FUZZ_AMPLIFICATION"))
    check_amplification = std::string{amp} != "0";
  return write_seeds_if_asked(write_seeds);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  run(data, size);
  return 0;
}
