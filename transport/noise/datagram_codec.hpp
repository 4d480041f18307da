#pragma once

#include "crust/messages/expected.hpp"
#include "crust/transport/byte_span.hpp"
#include "crust/transport/noise/cipher_state.hpp"
#include "crust/transport/noise/replay_window.hpp"

#include <cstddef>
#include <cstdint>

namespace crust::noise {

/// Datagram transport (Noise spec 11.4): every packet is
/// `[packet number u64 BE][ciphertext]` and the packet number is the nonce,
/// so packets may arrive lost, late or reordered. Caller-supplied additional
/// data (e.g. the connection id of the rUDP header) is authenticated but not
/// carried. Receiving checks the replay window only after the tag verified.
class datagram_codec {
public:
  /// Bytes in front of the ciphertext.
  static constexpr size_t header_len = 8;

  /// Bytes a packet adds to its plaintext.
  static constexpr size_t overhead = header_len + tag_len;

  /// WireGuard's REJECT_AFTER_MESSAGES, 2^64 - 2^13 - 1: packet numbers stay
  /// below it, so the replay window never wraps and 2^64-1 is never used.
  static constexpr uint64_t reject_after_messages = UINT64_MAX - 8192;

  /// Takes the two transport cipher states of one side (from Split()).
  datagram_codec(cipher_state send, cipher_state receive) noexcept;

  /// Appends one packet carrying `plaintext` to `out`. Fails with
  /// `nonce_exhausted` (nothing appended) once the packet numbers reached
  /// `reject_after_messages`, and with `message_too_large` if the packet
  /// would exceed 65535 + 8 bytes.
  status seal(const_byte_span ad, const_byte_span plaintext, byte_buffer& out);

  /// Authenticates `packet` and appends its plaintext to `out`; returns its
  /// packet number. Fails with `malformed_message` (too short, or a packet
  /// number no honest sender uses), `decrypt_failed`, `replayed_packet` or
  /// `packet_too_old`; on failure `out` and the window are unchanged.
  expected<uint64_t> open(const_byte_span ad, const_byte_span packet,
                          byte_buffer& out);

  /// The number the next sealed packet gets.
  uint64_t next_packet_number() const noexcept {
    return next_;
  }

  /// Moves the send counter forward (tests of the ceiling). Never backwards:
  /// that would reuse nonces.
  void skip_packet_numbers_to(uint64_t n) noexcept {
    if (n > next_)
      next_ = n;
  }

  const replay_window& window() const noexcept {
    return window_;
  }

private:
  cipher_state send_;
  cipher_state receive_;
  uint64_t next_ = 0;
  replay_window window_;
};

} // namespace crust::noise
