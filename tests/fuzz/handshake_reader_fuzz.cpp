// libFuzzer target: feeds untrusted bytes to a Noise handshake_state as the
// peer's handshake messages, then to the split receive CipherState.
//
// Input layout:
//   byte 0      selector: bits 0-1 pattern (NN, XX, IK, XK), bits 2-3 suite
//               (ChaChaPoly_SHA256, ChaChaPoly_BLAKE2s, AESGCM_SHA256),
//               bit 4 the pattern's psk variant (NNpsk0, XXpsk3, IKpsk2,
//               XKpsk3), bit 5 the side under test (0 responder, 1 initiator,
//               which first writes message 1 itself).
//   then        records, each a 2-byte big-endian length and that many bytes
//               (the last one may be cut short): the peer's messages, in
//               order, first handshake messages and then transport messages.
//
// Keys and ephemerals are fixed so that runs are reproducible and seeds can
// carry genuine peer messages. To regenerate the seed corpus:
//   CRUST_FUZZ_WRITE_SEEDS=tests/fuzz/corpus/handshake_reader \
//     ./build/fuzz/tests/fuzz/handshake_reader_fuzz -runs=0

#include "crust/transport/noise/handshake_state.hpp"

#include "fuzz_support.hpp"

#include <cstdint>
#include <string>
#include <vector>

using namespace crust;
using namespace crust::noise;
using namespace crust::fuzz;

namespace {

const char* const patterns[] = {"NN", "XX", "IK", "XK"};
const char* const psk_patterns[] = {"NNpsk0", "XXpsk3", "IKpsk2", "XKpsk3"};
const char* const suites[] = {
  "25519_ChaChaPoly_SHA256",
  "25519_ChaChaPoly_BLAKE2s",
  "25519_AESGCM_SHA256",
};

struct selection {
  std::string name;
  bool psk = false;
  size_t pattern = 0;
  role side = role::responder;
};

selection select(uint8_t selector) {
  selection sel;
  sel.pattern = selector & 0x03u;
  auto suite = ((selector >> 2) & 0x03u) % 3;
  sel.psk = (selector & 0x10u) != 0;
  sel.side = (selector & 0x20u) != 0 ? role::initiator : role::responder;
  sel.name = std::string{"Noise_"}
             + (sel.psk ? psk_patterns : patterns)[sel.pattern] + "_"
             + suites[suite];
  return sel;
}

handshake_config config_for(const selection& sel, role side) {
  bool initiator = side == role::initiator;
  handshake_config cfg;
  cfg.protocol_name = sel.name;
  cfg.side = side;
  cfg.prologue = {'f', 'u', 'z', 'z'};
  if (sel.pattern != 0) // all but NN use both static keys
    cfg.local_static = fixed_pair(initiator ? 1 : 2);
  if ((sel.pattern == 2 || sel.pattern == 3) && initiator)
    cfg.remote_static = fixed_pair(2).pub;
  if (sel.psk)
    cfg.psks.push_back(filled(5));
  auto eph = initiator ? uint8_t{3} : uint8_t{4};
  cfg.ephemeral_source = [eph]() -> expected<keypair> {
    return fixed_pair(eph);
  };
  return cfg;
}

/// Splits the input after the selector into length-prefixed records.
std::vector<const_byte_span> records(const uint8_t* data, size_t size) {
  std::vector<const_byte_span> result;
  size_t pos = 0;
  while (pos + 2 <= size) {
    size_t len = (size_t{data[pos]} << 8) | data[pos + 1];
    pos += 2;
    if (len > size - pos)
      len = size - pos;
    result.emplace_back(data + pos, len);
    pos += len;
  }
  return result;
}

/// Returns the number of transport messages that decrypted.
size_t run(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  auto sel = select(data[0]);
  auto hs = handshake_state::create(config_for(sel, sel.side));
  require(static_cast<bool>(hs));
  auto input = records(data + 1, size - 1);
  size_t next = 0;
  const byte_buffer payload{'o', 'k'};
  while (!hs->is_complete()) {
    if (hs->is_my_turn()) {
      byte_buffer out;
      auto st = hs->write_message(payload, out);
      if (!st) {
        // A hostile key can make our DH fail; the state must be poisoned.
        require(out.empty());
        require(!hs->is_my_turn());
        return 0;
      }
      require(out.size() <= max_message_len);
      continue;
    }
    if (next == input.size())
      return 0;
    auto msg = input[next++];
    byte_buffer got{'x'};
    auto st = hs->read_message(msg, got);
    if (!st) {
      require(got.size() == 1 && got[0] == 'x'); // untouched on failure
      require(!hs->is_my_turn() && !hs->is_complete());
      byte_buffer again;
      require(hs->read_message(msg, again).code() == errc::handshake_state);
      require(!hs->split());
      return 0;
    }
    require(got.size() - 1 <= msg.size());
  }
  auto keys = hs->split();
  require(static_cast<bool>(keys));
  require(keys->handshake_hash == hs->handshake_hash());
  // Transport phase: what is left goes to the receive CipherState.
  size_t decrypted = 0;
  for (; next < input.size(); ++next) {
    auto n = keys->receive.nonce();
    byte_buffer got;
    auto st = keys->receive.decrypt_with_ad({}, input[next], got);
    if (st) {
      require(keys->receive.nonce() == n + 1);
      require(got.size() + tag_len == input[next].size());
      ++decrypted;
    } else {
      require(keys->receive.nonce() == n);
      require(got.empty());
    }
  }
  return decrypted;
}

// -- seed corpus --------------------------------------------------------------

/// One seed: the genuine messages of an honest peer for `selector`.
byte_buffer make_seed(uint8_t selector) {
  auto sel = select(selector);
  auto peer_side = sel.side == role::initiator ? role::responder
                                               : role::initiator;
  auto me = handshake_state::create(config_for(sel, sel.side));
  auto peer = handshake_state::create(config_for(sel, peer_side));
  require(me && peer);
  byte_buffer seed{selector};
  const byte_buffer payload{'o', 'k'};
  while (!me->is_complete()) {
    auto& writer = me->is_my_turn() ? *me : *peer;
    auto& reader = me->is_my_turn() ? *peer : *me;
    byte_buffer msg;
    require(static_cast<bool>(writer.write_message(payload, msg)));
    byte_buffer got;
    require(static_cast<bool>(reader.read_message(msg, got)));
    if (&writer == &*peer)
      append_record(seed, msg);
  }
  auto keys = peer->split();
  require(static_cast<bool>(keys));
  for (const char* text : {"transport one", "transport two"}) {
    byte_buffer msg;
    std::string str{text};
    require(static_cast<bool>(keys->send.encrypt_with_ad(
      {}, byte_buffer(str.begin(), str.end()), msg)));
    append_record(seed, msg);
  }
  return seed;
}

void write_seeds(const std::string& dir) {
  for (unsigned side = 0; side < 2; ++side)
    for (unsigned psk = 0; psk < 2; ++psk)
      for (unsigned pattern = 0; pattern < 4; ++pattern)
        for (unsigned suite = 0; suite < 3; ++suite) {
          // Every pattern in one suite; the other suites only without psk.
          if (suite != 0 && psk != 0)
            continue;
          auto selector
            = static_cast<uint8_t>(pattern | suite << 2 | psk << 4 | side << 5);
          auto seed = make_seed(selector);
          // The seed must carry the target through the whole handshake.
          require(run(seed.data(), seed.size()) == 2);
          auto sel = select(selector);
          write_file(dir,
                     (sel.side == role::initiator ? "initiator_" : "responder_")
                       + sel.name,
                     seed);
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
