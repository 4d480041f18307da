#pragma once

#include "crust/messages/expected.hpp"

#include <array>
#include <cstddef>
#include <cstdint>

namespace crust::noise {

/// Sliding-window replay filter for datagram packet numbers (RFC 6479): a ring
/// of 64-bit blocks, so sliding forward clears whole blocks instead of
/// shifting bits. Use `check` before decrypting and `accept` only after the
/// tag verified, so that forged packets never move the window.
class replay_window {
public:
  /// Bits in the ring (8192, as Linux WireGuard and Nebula).
  static constexpr size_t ring_bits = 8192;

  /// Packet numbers this far below the highest accepted one are still
  /// judged; one block of the ring is the slack that lets it slide by
  /// whole blocks (as wireguard-go's 8128).
  static constexpr uint64_t window_size = ring_bits - 64;

  replay_window() noexcept = default;

  /// Tells whether packet number `n` may be accepted: `replayed_packet` if
  /// it was accepted before, `packet_too_old` if it fell out of the window.
  /// Changes nothing.
  status check(uint64_t n) const;

  /// Records `n` as received, sliding the window forward if `n` is new. Call
  /// only after `check(n)` passed and the packet authenticated.
  void accept(uint64_t n) noexcept;

  /// `check` and, if it passes, `accept`.
  status check_and_accept(uint64_t n);

  /// True until the first `accept`.
  bool empty() const noexcept {
    return empty_;
  }

  /// The highest accepted packet number (meaningless while `empty()`).
  uint64_t highest() const noexcept {
    return highest_;
  }

  /// Forgets everything (for a new key).
  void reset() noexcept;

private:
  static constexpr size_t blocks = ring_bits / 64;

  std::array<uint64_t, blocks> ring_{};
  uint64_t highest_ = 0;
  bool empty_ = true;
};

} // namespace crust::noise
