#pragma once

#include "crust/messages/expected.hpp"
#include "crust/transport/byte_span.hpp"
#include "crust/transport/codec/send_queue.hpp"
#include "crust/transport/noise/primitives.hpp"

#include <cstdint>
#include <variant>

namespace crust::rudp {

/// The handshake completed: `peer_id` is the peer's static key.
struct connected_event {
  noise::key32 peer_id{};
};

/// A whole message arrived, in order.
struct message_event {
  uint8_t prio = 0;
  byte_buffer payload;
};

/// The send queue's drop rule dropped queued messages (too slow a path).
struct dropped_event {
  codec::drop_report report;
};

/// The connection is over. `reason.code` is `none` after a graceful close
/// we asked for, `peer_closed` when the peer closed (its text in the
/// detail), or why it failed (`handshake_timeout`, `peer_silent`,
/// `peer_id_mismatch`, `network_mismatch`, `malformed_message`, ...).
/// Messages still queued were dropped and `dropped` says so.
struct closed_event {
  failure reason;
  codec::drop_report dropped;
};

using event
  = std::variant<connected_event, message_event, dropped_event, closed_event>;

} // namespace crust::rudp
