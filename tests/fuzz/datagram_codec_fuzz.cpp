// libFuzzer target: the datagram transport (transport/noise/datagram_codec)
// and its replay filter (transport/noise/replay_window).
//
// Input layout: byte 0 selects the mode (bit 0) and, for the codec, the
// cipher (bit 1: AESGCM instead of ChaChaPoly); the rest is a script.
//   codec    a sender and a receiver datagram_codec with fixed keys. Ops:
//            seal a packet (input payload, one of three ADs, now and then a
//            large or oversized one), skip packet numbers forward (a little,
//            a lot, or up to the sender's ceiling), deliver a stored packet
//            (again, out of order), deliver it bit-flipped, truncated,
//            extended, with another AD or with another packet's header, and
//            deliver raw input bytes.
//   window   a bare replay_window; ops pick packet numbers around the
//            highest accepted one (forward, back, far ahead, at the window's
//            edge, anywhere) and either check them or check and accept
//            them; or reset the window.
//
// A model (the set of accepted numbers and the highest) predicts every
// verdict. Invariants (a broken one traps):
//   - a packet number opens at most once; a genuine packet opens exactly
//     when the model says it is new and inside the window, and fails with
//     replayed_packet or packet_too_old otherwise;
//   - a mutated packet (flipped, truncated, extended, other AD, spliced
//     header) never opens; raw bytes that open obey the model;
//   - a failed open leaves the output and the window (its bytes) unchanged;
//   - opened plaintext equals what was sealed; the packet number returned is
//     the one in the header; sealing fails at the ceiling and above 65535
//     bytes without appending anything or using a number.
//
// To regenerate the seed corpus:
//   CRUST_FUZZ_WRITE_SEEDS=tests/fuzz/corpus/datagram_codec \
//     ./build/fuzz/tests/fuzz/datagram_codec_fuzz -runs=0

#include "crust/transport/noise/datagram_codec.hpp"
#include "crust/transport/noise/replay_window.hpp"

#include "fuzz_support.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

using namespace crust;
using namespace crust::noise;
using namespace crust::fuzz;

namespace {

// -- the model
// ------------------------------------------------------------------

/// What a replay window should do, the slow and obvious way.
struct window_model {
  std::set<uint64_t> accepted;
  uint64_t highest = 0;
  bool empty = true;

  /// The verdict `check(n)` must give.
  errc verdict(uint64_t n) const {
    if (empty || n > highest)
      return errc::none;
    if (highest - n >= replay_window::window_size)
      return errc::packet_too_old;
    if (accepted.count(n) != 0)
      return errc::replayed_packet;
    return errc::none;
  }

  void accept(uint64_t n) {
    require(verdict(n) == errc::none);
    accepted.insert(n);
    if (empty || n > highest)
      highest = n;
    empty = false;
    // Numbers far below the window are judged by their age alone.
    while (!accepted.empty()
           && highest - *accepted.begin() >= replay_window::window_size)
      accepted.erase(accepted.begin());
  }

  void reset() {
    accepted.clear();
    highest = 0;
    empty = true;
  }

  void compare(const replay_window& w) const {
    require(w.empty() == empty);
    if (!empty)
      require(w.highest() == highest);
  }
};

/// The bytes of a window, to prove that a call left it alone.
static_assert(std::is_trivially_copyable_v<replay_window>);
using window_bytes = std::array<uint8_t, sizeof(replay_window)>;

window_bytes snapshot(const replay_window& w) {
  window_bytes out;
  std::memcpy(out.data(), &w, sizeof(replay_window));
  return out;
}

// -- window mode
// ----------------------------------------------------------------

void run_window(reader& in) {
  replay_window w;
  window_model model;
  constexpr auto ws = replay_window::window_size;
  while (!in.empty()) {
    auto op = in.u8();
    auto h = model.highest;
    uint64_t n = 0;
    switch ((op & 0x7F) % 7) {
      case 0: n = h + 1 + in.u8(); break;
      case 1: n = h - std::min<uint64_t>(h, in.u16()); break;
      case 2: n = h + (uint64_t{in.u16()} << 6); break;
      case 3: // around the window's lower edge
        n = h - std::min<uint64_t>(h, ws - 64 + in.u8() % 128);
        break;
      case 4: n = in.u64(); break;
      case 5: n = h - std::min<uint64_t>(h, in.u8()); break;
      default:
        w.reset();
        model.reset();
        model.compare(w);
        continue;
    }
    auto expect = model.verdict(n);
    auto before = snapshot(w);
    auto res = w.check(n);
    require(res.code() == expect);
    require(snapshot(w) == before);
    if ((op & 0x80) != 0) {
      // check_and_accept: accepts exactly what check passes.
      auto res2 = w.check_and_accept(n);
      require(res2.code() == expect);
      if (res2)
        model.accept(n);
      else
        require(snapshot(w) == before);
    }
    model.compare(w);
  }
}

// -- codec mode
// -----------------------------------------------------------------

const byte_buffer ads[] = {{}, {'c', 'i', 'd', 1}, {'c', 'i', 'd', 2}};

/// A packet as the sender sealed it.
struct sealed_packet {
  uint64_t number;
  size_t ad;
  byte_buffer plaintext;
  byte_buffer wire;
};

constexpr size_t max_stored = 64;

uint64_t header_number(const byte_buffer& wire) {
  uint64_t n = 0;
  for (size_t i = 0; i < datagram_codec::header_len; ++i)
    n = (n << 8) | wire[i];
  return n;
}

struct codec_run {
  datagram_codec sender;
  datagram_codec receiver;
  window_model model;
  std::vector<sealed_packet> stored;

  explicit codec_run(cipher_kind kind)
    : sender(fixed_cipher(kind, 0xA1), fixed_cipher(kind, 0xB2)),
      receiver(fixed_cipher(kind, 0xB2), fixed_cipher(kind, 0xA1)) {
    // nop
  }

  void seal(reader& in) {
    auto len_byte = in.u8();
    size_t ad = in.u8() % 3;
    byte_buffer plaintext;
    if (len_byte == 0xFF) {
      // Large: up to the limit and a little beyond, padded.
      auto len = 65000 + in.u16() % 1000;
      plaintext.assign(len, 0x5A);
    } else {
      auto bytes = in.take(len_byte);
      plaintext.assign(bytes.begin(), bytes.end());
    }
    byte_buffer out{0xEE};
    auto n = sender.next_packet_number();
    auto res = sender.seal(ads[ad], plaintext, out);
    if (n >= datagram_codec::reject_after_messages) {
      require(res.code() == errc::nonce_exhausted);
    } else if (plaintext.size() + tag_len > max_message_len) {
      require(res.code() == errc::message_too_large);
    } else {
      require(static_cast<bool>(res));
    }
    if (!res) {
      require(out.size() == 1);
      require(sender.next_packet_number() == n);
      return;
    }
    require(sender.next_packet_number() == n + 1);
    require(out.size() == 1 + plaintext.size() + datagram_codec::overhead);
    out.erase(out.begin());
    require(header_number(out) == n);
    if (stored.size() == max_stored)
      stored.erase(stored.begin());
    stored.push_back({n, ad, std::move(plaintext), std::move(out)});
  }

  void skip(reader& in) {
    auto kind = in.u8();
    auto next = sender.next_packet_number();
    uint64_t target = next;
    switch (kind % 4) {
      case 0: target = next + in.u8(); break;
      case 1: target = next + in.u16(); break;
      case 2: target = next + (uint64_t{in.u16()} << 16); break;
      default: target = datagram_codec::reject_after_messages - in.u8() % 4;
    }
    if (target < next) // wrapped around: nothing to do
      return;
    sender.skip_packet_numbers_to(target);
    require(sender.next_packet_number() == std::max(next, target));
  }

  enum class expect { genuine, refused, unknown };

  /// Delivers `wire` and checks the outcome against the model.
  void open(const byte_buffer& wire, size_t ad, expect what,
            const byte_buffer* plaintext) {
    auto before = snapshot(receiver.window());
    byte_buffer out{0xEE};
    auto res = receiver.open(ads[ad], wire, out);
    if (what == expect::genuine) {
      auto n = header_number(wire);
      auto verdict = model.verdict(n);
      if (verdict == errc::none)
        require(static_cast<bool>(res));
      else
        require(!res && res.error().code == verdict);
    } else if (what == expect::refused) {
      require(!res);
    }
    if (res) {
      auto n = *res;
      // Opens at most once.
      require(model.accepted.count(n) == 0);
      require(model.verdict(n) == errc::none);
      require(wire.size() >= datagram_codec::overhead);
      require(header_number(wire) == n);
      require(out.size() == 1 + wire.size() - datagram_codec::overhead);
      require(out[0] == 0xEE);
      if (plaintext != nullptr)
        require(std::equal(out.begin() + 1, out.end(), plaintext->begin(),
                           plaintext->end()));
      model.accept(n);
    } else {
      require(res.error().code != errc::none);
      require(out.size() == 1 && out[0] == 0xEE);
      require(snapshot(receiver.window()) == before);
    }
    model.compare(receiver.window());
  }

  const sealed_packet* pick(reader& in) {
    auto i = in.u8();
    if (stored.empty())
      return nullptr;
    return &stored[i % stored.size()];
  }

  void step(reader& in) {
    switch (in.u8() % 9) {
      case 0: seal(in); break;
      case 1: skip(in); break;
      case 2: // genuine, possibly again or out of order
        if (auto* p = pick(in))
          open(p->wire, p->ad, expect::genuine, &p->plaintext);
        break;
      case 3: // bits flipped
        if (auto* p = pick(in)) {
          auto wire = p->wire;
          auto pos = in.u16() % wire.size();
          auto mask = in.u8();
          wire[pos] ^= mask != 0 ? mask : 1;
          open(wire, p->ad, expect::refused, nullptr);
        }
        break;
      case 4: // truncated
        if (auto* p = pick(in)) {
          auto wire = p->wire;
          wire.resize(in.u16() % wire.size());
          open(wire, p->ad, expect::refused, nullptr);
        }
        break;
      case 5: // extended
        if (auto* p = pick(in)) {
          auto wire = p->wire;
          auto extra = in.take(1 + in.u8() % 16);
          wire.insert(wire.end(), extra.begin(), extra.end());
          if (extra.size() == 0)
            wire.push_back(0);
          open(wire, p->ad, expect::refused, nullptr);
        }
        break;
      case 6: // another AD
        if (auto* p = pick(in)) {
          size_t ad = (p->ad + 1 + in.u8() % 2) % 3;
          open(p->wire, ad, expect::refused, nullptr);
        }
        break;
      case 7: // another packet's header
        if (auto* p = pick(in)) {
          auto* q = pick(in);
          if (q->number == p->number)
            break;
          auto wire = p->wire;
          std::copy(q->wire.begin(),
                    q->wire.begin() + datagram_codec::header_len, wire.begin());
          open(wire, p->ad, expect::refused, nullptr);
        }
        break;
      default: { // raw bytes from the input
        size_t ad = in.u8() % 3;
        auto bytes = in.take(in.u8());
        open(bytes.to_buffer(), ad, expect::unknown, nullptr);
      }
    }
  }
};

void run_codec(reader& in, cipher_kind kind) {
  codec_run run{kind};
  while (!in.empty())
    run.step(in);
}

void run(const uint8_t* data, size_t size) {
  if (size == 0)
    return;
  reader in{data, size};
  auto selector = in.u8();
  if ((selector & 0x01) != 0)
    run_window(in);
  else
    run_codec(in, (selector & 0x02) != 0 ? cipher_kind::aes_gcm
                                         : cipher_kind::chacha_poly);
}

// -- seeds --------------------------------------------------------------------

void write_seeds(const std::string& dir) {
  // Codec ops: 0 seal [len][ad][bytes], 1 skip [kind][amount], 2 deliver
  // [i], 3 flip [i][pos u16][mask], 4 truncate [i][len u16], 5 extend
  // [i][n][bytes], 6 other AD [i][k], 7 splice [i][j], 8 raw [ad][len][bytes].
  struct seed {
    const char* name;
    byte_buffer bytes;
  };
  std::vector<seed> seeds{
    // Three packets, delivered out of order, then one again (replayed).
    {"codec_reorder_replay",
     {0x00, 0,   3,   0,   'o', 'n', 'e', 0, 3, 1, 't', 'w', 'o', 0, 5,
      2,    't', 'h', 'r', 'e', 'e', 2,   2, 2, 0, 2,   1,   2,   0}},
    // The same with AESGCM, and every kind of mutation.
    {"codec_aesgcm_mutations",
     {0x02, 0, 4, 1, 'd',  'a', 't', 'a', 0,  2, 0, 'h', 'i',
      3,    0, 0, 9, 0x80, 4,   0,   0,   10, 5, 0, 1,   0xAB,
      0xCD, 6, 0, 1, 7,    0,   1,   2,   0,  2, 1}},
    // A jump of 2^16 makes the first packets too old.
    {"codec_too_old",
     {0x00, 0, 1, 0, 'a', 1, 1, 0xFF, 0xFF, 0, 1, 0, 'b', 2, 1, 2, 0}},
    // Up to the ceiling: one packet left, then nonce_exhausted.
    {"codec_ceiling", {0x00, 1, 3, 1, 0, 1, 0, 'x', 0, 1, 0, 'y', 2, 0}},
    // A packet of 65519 bytes (the maximum) and one too large.
    {"codec_large",
     {0x00, 0, 0xFF, 0, 0x02, 0x07, 0, 0xFF, 0, 0x02, 0x08, 2, 0}},
    // Raw bytes: too short, a header only, garbage of 40 bytes.
    {"codec_raw",
     {0x00, 8, 0, 3, 1, 2, 3, 8, 1, 8, 0, 0, 0, 0, 0, 0, 0, 1, 8, 2, 40}},
  };
  // A raw copy of a genuine packet: opens once, then is replayed.
  {
    codec_run honest{cipher_kind::chacha_poly};
    byte_buffer script{0, 5, 0, 'h', 'e', 'l', 'l', 'o'};
    reader in{script.data(), script.size()};
    honest.step(in);
    auto& wire = honest.stored.front().wire;
    byte_buffer bytes{0x00};
    for (int i = 0; i < 2; ++i) {
      bytes.insert(bytes.end(), {8, 0, static_cast<uint8_t>(wire.size())});
      bytes.insert(bytes.end(), wire.begin(), wire.end());
    }
    seeds.push_back({"codec_raw_genuine", bytes});
  }
  // Window ops: [op] with bit 7 = accept; 0 +1..256, 1 -u16, 2 +u16<<6,
  // 3 lower edge, 4 absolute u64, 5 -u8, 6 reset.
  seeds.push_back(
    {"window_forward_back",
     {0x01, 0x80, 0,    0x80, 5,   0x85, 3, 0x85, 3,   0x05, 3,    0x81,
      0,    10,   0x82, 0,    200, 0x83, 0, 0x83, 100, 0x06, 0x80, 0}});
  // Near the top of the number space, then exactly at the window's edge.
  seeds.push_back(
    {"window_far",
     {0x01, 0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xDF, 0xFE, 0x81, 0x1F,
      0xBF, 0x81, 0x1F, 0xC0, 0x84, 0,    0,    0,    0,    0,    0,    0,
      7,    0x82, 0x00, 0x01, 0x81, 0x1F, 0xBF, 0x81, 0x00, 0x00}});
  for (auto& s : seeds) {
    run(s.bytes.data(), s.bytes.size());
    write_file(dir, s.name, s.bytes);
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  return write_seeds_if_asked(write_seeds);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  run(data, size);
  return 0;
}
