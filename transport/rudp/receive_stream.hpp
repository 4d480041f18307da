#pragma once

#include "crust/messages/expected.hpp"
#include "crust/transport/byte_span.hpp"
#include "crust/transport/rudp/range_set.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace crust::rudp {

/// A message the stream completed.
struct stream_message {
  uint8_t prio = 0;
  byte_buffer payload;
};

/// The receiving half of a connection's reliable byte stream: puts ranges
/// back in order (each byte counts once, however often it arrives) and cuts
/// the in-order bytes into messages. The length in a message header is
/// checked against the maximum message size before anything is allocated.
class receive_stream {
public:
  /// Out-of-order pieces held at most: flow control bounds their bytes, this
  /// bounds their bookkeeping (an honest peer sends pieces of about a
  /// datagram, so a 4 MiB window needs a few thousand).
  static constexpr size_t max_pending_pieces = 65536;

  explicit receive_stream(size_t max_message_size) noexcept
    : max_message_size_(max_message_size) {
    // nop
  }

  /// Takes stream bytes at `offset` and appends every message they complete
  /// to `out`. Fails with `message_too_large` when a header announces more
  /// than the maximum, and with `malformed_message` beyond
  /// `max_pending_pieces` (the connection must close: the peer broke the
  /// rules).
  status on_data(uint64_t offset, const_byte_span data,
                 std::vector<stream_message>& out);

  /// Bytes received in order (the flow-control window slides with it).
  uint64_t contiguous() const noexcept {
    return next_;
  }

  /// Bytes held out of order.
  uint64_t buffered_bytes() const noexcept {
    return buffered_;
  }

private:
  status consume(const_byte_span data, std::vector<stream_message>& out);

  size_t max_message_size_;
  uint64_t next_ = 0;
  /// Out-of-order ranges by offset, never overlapping each other.
  std::map<uint64_t, byte_buffer> pending_;
  range_set pending_ranges_;
  uint64_t buffered_ = 0;
  // The message being assembled.
  uint8_t header_[5] = {};
  size_t header_have_ = 0;
  size_t payload_left_ = 0;
  stream_message current_;
};

} // namespace crust::rudp
