#pragma once

#include "crust/messages/expected.hpp"
#include "crust/transport/byte_span.hpp"
#include "crust/transport/noise/cipher_state.hpp"
#include "crust/transport/noise/primitives.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace crust::noise {

enum class role : uint8_t { initiator, responder };

/// Everything needed to start one handshake.
struct handshake_config {
  /// Full protocol name, e.g. "Noise_XX_25519_ChaChaPoly_SHA256". Supported:
  /// patterns NN, XX, IK, XK (with psk modifiers), DH 25519, ciphers
  /// ChaChaPoly and AESGCM, hashes SHA256 and BLAKE2s.
  std::string protocol_name = "Noise_XX_25519_ChaChaPoly_SHA256";
  role side = role::initiator;
  byte_buffer prologue;
  /// Our static key pair, for patterns that send or use `s`.
  std::optional<keypair> local_static;
  /// The peer's static public key when known in advance (IK, XK initiator).
  std::optional<key32> remote_static;
  /// Pre-shared keys, consumed in the order the pskN tokens appear.
  std::vector<key32> psks;
  /// Source of ephemeral key pairs. Empty means fresh random keys; test
  /// vectors inject fixed ones here. Nothing else should set it.
  std::function<expected<keypair>()> ephemeral_source;
};

/// The two transport CipherStates of one side after Split().
struct transport_keys {
  cipher_state send;
  cipher_state receive;
  key32 handshake_hash{};
};

/// Noise HandshakeState (spec 5.3) for one side of one handshake. Sans-I/O:
/// bytes in, bytes out. Any failed read or write poisons the state, as the
/// spec requires: every later call fails with `handshake_state`.
class handshake_state {
public:
  handshake_state(handshake_state&&) noexcept;
  handshake_state& operator=(handshake_state&&) noexcept;
  ~handshake_state();

  /// Validates the configuration (name, keys the pattern needs) and runs
  /// Initialize(): protocol name, prologue and pre-messages hashed.
  static expected<handshake_state> create(handshake_config cfg);

  /// True when it is this side's turn to write.
  bool is_my_turn() const noexcept;

  /// True once every handshake message was written or read.
  bool is_complete() const noexcept;

  /// WriteMessage: appends the next handshake message carrying `payload`.
  status write_message(const_byte_span payload, byte_buffer& out);

  /// ReadMessage: checks and consumes the peer's next handshake message,
  /// appending its payload to `payload_out`. Truncated, oversized (> 65535)
  /// or forged messages fail without crashing.
  status read_message(const_byte_span message, byte_buffer& payload_out);

  /// The peer's static key once it is known (pre-message or handshake).
  const std::optional<key32>& remote_static() const noexcept;

  /// The handshake hash h (channel binding value after completion).
  const key32& handshake_hash() const noexcept;

  /// Split(): the send and receive CipherStates for this side. Only after
  /// completion; afterwards the handshake state is spent.
  expected<transport_keys> split();

  /// The suite named by the protocol name.
  suite algorithms() const noexcept;

private:
  struct impl;
  explicit handshake_state(std::unique_ptr<impl> ptr) noexcept;
  std::unique_ptr<impl> impl_;
};

} // namespace crust::noise
