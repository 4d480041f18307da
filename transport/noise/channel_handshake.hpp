#pragma once

#include "crust/messages/expected.hpp"
#include "crust/transport/byte_span.hpp"
#include "crust/transport/noise/handshake_state.hpp"
#include "crust/transport/noise/primitives.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace crust::noise {

/// The wire protocol version this code speaks.
constexpr uint8_t protocol_version = 1;

/// Bytes of an envelope header: `[version u8][kind u8][length u16 BE]`.
constexpr size_t envelope_header_len = 4;

/// Largest envelope body accepted. crust's XX messages are about 100 bytes,
/// so a generous cap still refuses junk before buffering it and keeps every
/// envelope inside one datagram.
constexpr size_t max_envelope_body = 1024;

/// Envelope kinds.
enum class envelope_kind : uint8_t {
  handshake = 1,
  refusal = 2,
};

/// Reason codes of a refusal envelope (the first body byte).
enum class refusal_reason : uint8_t {
  unspecified = 0,
  unknown_version = 1,
  network_mismatch = 2,
  unexpected_peer = 3,
  /// The initiator's address (or id) is banned.
  banned = 4,
  /// The initiator's address is not on the responder's whitelist.
  not_whitelisted = 5,
};

/// A refusal a responder sends whatever the initiator says (the listener's
/// verdict on the address, known before any handshake byte).
struct channel_refusal {
  refusal_reason reason = refusal_reason::unspecified;
  /// Sent in cleartext to the initiator: short and generic (at most 200
  /// bytes are sent).
  std::string text;
};

/// How one side runs crust's handshake.
struct channel_config {
  role side = role::initiator;
  /// Our long-term key pair; its public half is our peer id.
  keypair local_static;
  /// Nodes only talk within one network; its SHA-256 is bound.
  std::string network_name;
  /// The peer id we dial (`PEERID@addr`); the handshake fails unless the
  /// peer's static key equals it. Either side may set it.
  std::optional<key32> expected_remote;
  /// Cipher and hash of Noise_XX_25519_<cipher>_<hash>.
  suite algorithms;
  /// Fixed ephemeral keys for tests; empty means fresh random ones.
  std::function<expected<keypair>()> ephemeral_source;
  /// Responder only: answer the initiator's first valid envelope (version
  /// and kind checked, nothing decrypted, no DH spent) with this refusal
  /// and fail with `banned`, `not_whitelisted` or `peer_refused` after its
  /// reason.
  std::optional<channel_refusal> refusal;
};

/// What a completed handshake yields.
struct channel_result {
  /// The peer's static public key, i.e. its peer id.
  key32 remote_static{};
  /// Transport cipher states and the handshake hash (channel binding).
  transport_keys keys;
};

/// crust's secure-channel handshake: Noise XX wrapped in versioned envelopes,
/// with the prologue binding "crust", the version and SHA-256(network name).
/// Sans-I/O. Use either the stream calls (`on_bytes`) or the datagram calls
/// (`on_datagram`) for one handshake. Any failure is final; when a failure
/// concerns the peer (version, network, peer id), a refusal envelope is
/// appended to `out` first, to send before closing.
class channel_handshake {
public:
  channel_handshake(channel_handshake&&) noexcept;
  channel_handshake& operator=(channel_handshake&&) noexcept;
  ~channel_handshake();

  /// Validates the configuration and prepares the Noise state.
  static expected<channel_handshake> create(channel_config cfg);

  /// The Noise prologue for `version` and `network_name`.
  static byte_buffer make_prologue(uint8_t version,
                                   const std::string& network_name);

  /// Initiator only: appends the first envelope to `out`.
  status start(byte_buffer& out);

  /// Stream mode: consumes bytes in any chunking and appends replies to
  /// `out`. Returns how many bytes of `bytes` it consumed; once `done()`,
  /// the rest belong to the framing layer. Holds back at most one envelope.
  expected<size_t> on_bytes(const_byte_span bytes, byte_buffer& out);

  /// Datagram mode: `datagram` is exactly one envelope. A byte-identical
  /// copy of the peer's last envelope (a retransmission) is answered by
  /// re-sending our last envelope instead of failing.
  status on_datagram(const_byte_span datagram, byte_buffer& out);

  /// True when this side has nothing more to send or receive.
  bool done() const noexcept;

  bool failed() const noexcept;

  /// The failure (only if `failed()`).
  const failure& error() const noexcept;

  /// The peer's static key once the handshake revealed and checked it.
  std::optional<key32> remote_static() const;

  /// Our last envelope, for retransmission in datagram mode.
  const byte_buffer& last_envelope() const noexcept;

  /// The transport keys and the peer id. Only once `done()`; spends the
  /// handshake.
  expected<channel_result> finish();

private:
  struct impl;
  explicit channel_handshake(std::unique_ptr<impl> ptr) noexcept;
  std::unique_ptr<impl> impl_;
};

} // namespace crust::noise
