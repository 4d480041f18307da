#pragma once

#include "crust/messages/expected.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace crust::noise {

/// The tokens of Noise handshake patterns (spec 7.1 and 9).
enum class token : uint8_t { e, s, ee, es, se, ss, psk };

std::string_view to_string(token x) noexcept;

/// A handshake pattern with its modifiers applied: the pre-messages and the
/// messages as token lists. Message `i` is written by the initiator when `i`
/// is even and by the responder when `i` is odd (interactive patterns only).
struct handshake_pattern {
  /// The pattern part of the protocol name, e.g. "XXpsk3".
  std::string name;
  std::vector<token> initiator_pre;
  std::vector<token> responder_pre;
  std::vector<std::vector<token>> messages;

  /// Number of psk tokens, which is the number of PSKs a side needs.
  size_t psk_count() const noexcept;

  /// True for psk handshakes, where `e` also calls MixKey (spec 9.2).
  bool has_psk() const noexcept {
    return psk_count() > 0;
  }

  /// True when the initiator (or responder) uses its own static key.
  bool needs_local_static(bool initiator) const noexcept;

  /// True when the initiator (or responder) must know the peer's static key
  /// in advance because of a pre-message.
  bool needs_remote_static(bool initiator) const noexcept;

  /// True when the peer's static key travels in a handshake message.
  bool transmits_remote_static(bool initiator) const noexcept;
};

/// Builds a pattern from its name: a base pattern from the table (NN, XX, IK,
/// XK) followed by optional modifiers "pskN", joined by '+' (spec 10.2), e.g.
/// "XXpsk3" or "NNpsk0+psk2". Unknown names fail with unsupported_protocol.
expected<handshake_pattern> make_pattern(std::string_view name);

} // namespace crust::noise
