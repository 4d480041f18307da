#pragma once

#include "crust/transport/byte_span.hpp"
#include "crust/transport/rudp/range_set.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

namespace crust::rudp {

/// Bytes in front of every message on the stream: priority (u8) and length
/// (u32 BE).
constexpr size_t message_header_len = 5;

/// A range of stream bytes.
struct stream_range {
  uint64_t offset = 0;
  size_t length = 0;
};

/// The sending half of a connection's one reliable byte stream. Messages go
/// in whole (header and payload, the payload moved in, not copied); packets
/// take ranges out: data declared lost first, then new bytes up to the
/// peer's flow-control limit. Bytes stay until acknowledged, and only lost
/// bytes not acknowledged since are ever sent again.
class send_stream {
public:
  /// Appends one message of priority `prio`.
  void append(uint8_t prio, byte_buffer&& payload);

  /// Bytes appended so far (the next message's offset).
  uint64_t end() const noexcept {
    return end_;
  }

  /// The first byte never sent.
  uint64_t sent_end() const noexcept {
    return sent_end_;
  }

  /// True when a range could be sent now under `flow_limit`.
  bool has_pending(uint64_t flow_limit) const noexcept;

  /// True when lost bytes wait for retransmission.
  bool has_retransmission() const noexcept {
    return !retransmit_.empty();
  }

  /// Takes the next range of at most `max_len` bytes to send: lost bytes
  /// first, then new bytes below `flow_limit`; marks it as sent.
  std::optional<stream_range> take(size_t max_len, uint64_t flow_limit);

  /// Appends the bytes of `range` (all still buffered) to `out`.
  void copy(stream_range range, byte_buffer& out) const;

  void on_acked(stream_range range);

  /// Queues the part of `range` not acknowledged yet for retransmission.
  void on_lost(stream_range range);

  /// True when every appended byte was acknowledged.
  bool all_acked() const noexcept {
    return acked_prefix() == end_;
  }

  /// Bytes held for (re)transmission.
  uint64_t buffered_bytes() const noexcept {
    return end_ - base_;
  }

  /// Bytes appended but never sent.
  uint64_t unsent_bytes() const noexcept {
    return end_ - sent_end_;
  }

private:
  struct chunk {
    uint64_t offset;
    byte_buffer bytes;
  };

  uint64_t acked_prefix() const noexcept;
  void release_acked();

  std::deque<chunk> chunks_;
  /// Offset of the first buffered byte.
  uint64_t base_ = 0;
  uint64_t end_ = 0;
  uint64_t sent_end_ = 0;
  range_set acked_;
  range_set retransmit_;
};

} // namespace crust::rudp
