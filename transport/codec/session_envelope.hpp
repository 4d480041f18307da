#pragma once

#include "crust/messages/expected.hpp"
#include "crust/transport/byte_span.hpp"

#include <cstddef>
#include <cstdint>

/// The rUDP SESSION's framing inside the engine's reliable, ordered
/// messages (docs/rudp.md §10.1): what a TCP connection carries as frame
/// types (choose, service frames, messages), one leading kind byte per
/// engine message.
namespace crust::codec {

enum class envelope_kind : uint8_t {
  /// The rest is one application message.
  message = 0,
  /// The connection is chosen (wire-protocol.md §5.1); nothing follows.
  choose = 1,
  /// A service frame: u16 kind (nonzero, big-endian), then the body.
  service = 2,
};

/// Bytes an envelope adds to an application message.
constexpr size_t message_envelope_overhead = 1;

/// Bytes an envelope adds to a service body.
constexpr size_t service_envelope_overhead = 3;

/// One decoded envelope. For a message, `body` is the payload; for a
/// service frame, its body.
struct session_envelope {
  envelope_kind kind = envelope_kind::message;
  uint16_t service_kind = 0;
  byte_buffer body;
};

/// Prepends the message header to `payload`.
byte_buffer wrap_message(byte_buffer&& payload);

byte_buffer wrap_choose();

/// A service frame; the caller bounds `body` (noise::max_service_body).
byte_buffer wrap_service(uint16_t kind, const_byte_span body);

/// Decodes one engine message, taking its bytes. Fails with
/// `errc::malformed_message` for an empty message, an unknown kind, a
/// choose with a body, a service frame shorter than its header, of kind 0
/// or with a body over noise::max_service_body.
expected<session_envelope> unwrap(byte_buffer&& bytes);

} // namespace crust::codec
