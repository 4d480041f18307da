#pragma once

#include "crust/messages/expected.hpp"
#include "crust/transport/byte_span.hpp"
#include "crust/transport/noise/handshake_state.hpp"

#include <cstdint>
#include <functional>
#include <memory>

namespace crust::rudp {

/// Seals and opens the body of data packets: `packet number u64 BE |
/// ciphertext`. The engine holds one per connection, built from the
/// handshake's transport keys. An interface so that the whole-engine fuzz
/// target can put a null cipher in (its build only); production always uses
/// `make_aead_protection`.
class packet_protection {
public:
  virtual ~packet_protection() = default;

  /// Appends `packet number | ciphertext` for `plaintext` to `out`, binding
  /// `ad`; the packet number is the next one, never reused.
  virtual status
  seal(const_byte_span ad, const_byte_span plaintext, byte_buffer& out)
    = 0;

  /// Authenticates `body` (`packet number | ciphertext`) and appends its
  /// plaintext to `out`; returns the packet number. Replays and packets too
  /// old for the window fail; on failure nothing changes.
  virtual expected<uint64_t>
  open(const_byte_span ad, const_byte_span body, byte_buffer& out) = 0;

  /// The number the next sealed packet gets.
  virtual uint64_t next_packet_number() const noexcept = 0;
};

/// Builds the protection of a connection from the handshake's keys.
using protection_factory
  = std::function<std::unique_ptr<packet_protection>(noise::transport_keys)>;

/// The real one: datagram_codec (ChaCha20-Poly1305 or AES-GCM, packet number
/// as nonce, RFC 6479 replay window).
std::unique_ptr<packet_protection>
make_aead_protection(noise::transport_keys keys);

} // namespace crust::rudp
