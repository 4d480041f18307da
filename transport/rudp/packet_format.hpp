#pragma once

#include "crust/messages/expected.hpp"
#include "crust/transport/byte_span.hpp"
#include "crust/transport/rudp/range_set.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

/// The rUDP packet format (docs/rudp.md): the cleartext header that routes a
/// datagram to its connection, and the frames inside an authenticated packet.
/// Decoding never trusts a length before checking it against the bytes left.
namespace crust::rudp {

/// rUDP's version byte (the wire protocol's version, docs/wire-protocol.md).
constexpr uint8_t rudp_version = 1;

/// The second byte of every datagram.
enum class packet_type : uint8_t {
  /// Carries one handshake envelope of the secure channel in cleartext.
  handshake = 1,
  /// Carries frames, encrypted and authenticated.
  data = 2,
};

/// version | type | destination connection id (u64 BE) | source id (u64 BE)
constexpr size_t handshake_header_len = 18;

/// version | type | destination connection id (u64 BE); the packet number
/// and ciphertext of datagram_codec follow. These 10 bytes are the AEAD's
/// additional data, so a packet cannot be moved to another connection.
constexpr size_t data_header_len = 10;

/// Bytes a data packet adds to its frames: the header, the packet number and
/// the AEAD tag.
constexpr size_t data_packet_overhead = data_header_len + 8 + 16;

/// Connection id 0 is never a connection's own: a first handshake datagram
/// carries it as its destination (the responder has not chosen one yet).
constexpr uint64_t no_connection_id = 0;

/// A datagram's cleartext header.
struct packet_header {
  packet_type type = packet_type::data;
  uint64_t destination_id = 0;
  /// Handshake packets only: the sender's own connection id.
  uint64_t source_id = 0;
  /// Handshake: the envelope. Data: packet number and ciphertext.
  const_byte_span body;
  /// Data: the bytes to authenticate as additional data.
  const_byte_span header_bytes;
};

/// Splits a datagram into header and body. Fails with `unknown_version` or
/// `malformed_message` (too short, unknown type, a connection id of 0 where
/// one is required, an empty body).
expected<packet_header> parse_header(const_byte_span datagram);

/// The destination connection id of a datagram, for demultiplexing, without
/// judging the rest; none if too short or of another version.
std::optional<uint64_t> peek_destination_id(const_byte_span datagram);

/// The source id of a datagram that opens a connection (a handshake packet
/// for destination id 0, i.e. an initiator's message 1 or a retransmission
/// of it); none for anything else. An endpoint creates a responder for a new
/// (address, source id) pair and hands every such datagram of that pair to
/// the same responder.
std::optional<uint64_t> initial_source_id(const_byte_span datagram);

/// Appends a handshake datagram carrying `envelope`.
void write_handshake_packet(uint64_t destination_id, uint64_t source_id,
                            const_byte_span envelope, byte_buffer& out);

/// Appends the header of a data packet (the codec appends the rest).
void write_data_header(uint64_t destination_id, byte_buffer& out);

// -- variable-length integers (RFC 9000 section 16) --------------------------

/// Largest value a varint holds.
constexpr uint64_t max_varint = (uint64_t{1} << 62) - 1;

/// Bytes the varint encoding of `x` takes (1, 2, 4 or 8).
size_t varint_size(uint64_t x) noexcept;

/// Appends `x` (at most max_varint).
void write_varint(uint64_t x, byte_buffer& out);

/// Reads one varint at `pos`, advancing it; none if truncated.
std::optional<uint64_t> read_varint(const_byte_span in, size_t& pos) noexcept;

// -- frames ----------------------------------------------------------------

enum class frame_type : uint8_t {
  /// One byte of nothing (fills MTU probes).
  padding = 0,
  /// Asks for an acknowledgement (keepalive, probes).
  ping = 1,
  /// Acknowledged packet numbers as ranges.
  ack = 2,
  /// Bytes of the message stream at an offset.
  stream = 3,
  /// The flow-control limit: the sender may send stream bytes below it.
  max_data = 4,
  /// The sender closes the connection.
  close = 5,
};

/// Packet numbers [low, high], both included.
struct ack_range {
  uint64_t low = 0;
  uint64_t high = 0;
};

/// ACK: largest | delay (microseconds) | extra range count | first range
/// length - 1 | then (gap - 1, length - 1) pairs going down.
struct ack_frame {
  uint64_t delay_us = 0;
  /// Descending; the first holds the largest acknowledged number.
  std::vector<ack_range> ranges;
};

/// STREAM: offset | length | bytes.
struct stream_frame {
  uint64_t offset = 0;
  const_byte_span data;
};

/// CLOSE: error code (errc as u8) | text length | text (informative).
struct close_frame {
  uint8_t code = 0;
  std::string text;
};

/// Longest close text sent or accepted.
constexpr size_t max_close_text = 256;

/// Most ACK ranges accepted in one frame.
constexpr size_t max_ack_ranges = 256;

/// The frames of one packet, decoded and checked before any is applied, so
/// that a malformed packet changes nothing.
struct packet_frames {
  /// Any frame other than ACK and PADDING: the receiver must acknowledge.
  bool ack_eliciting = false;
  std::optional<ack_frame> ack;
  std::vector<stream_frame> streams;
  std::optional<uint64_t> max_data;
  std::optional<close_frame> close;
};

/// Decodes the plaintext of a data packet. Fails with `malformed_message`
/// (unknown frame type, truncation, an ACK whose ranges go below zero, a
/// second ACK, stream bytes beyond max_varint, an empty packet).
expected<packet_frames> parse_frames(const_byte_span plaintext);

/// Appends an ACK frame for the highest ranges of `received` that fit into
/// `budget` bytes; appends nothing and returns false when not even one fits.
bool write_ack_frame(const range_set& received, uint64_t delay_us,
                     size_t budget, byte_buffer& out);

/// Bytes a STREAM frame header for `offset` and `length` takes.
size_t stream_frame_header_size(uint64_t offset, size_t length) noexcept;

/// Appends a STREAM frame header; the caller appends the `length` bytes.
void write_stream_frame_header(uint64_t offset, size_t length,
                               byte_buffer& out);

void write_max_data_frame(uint64_t limit, byte_buffer& out);

/// Appends a CLOSE frame; `text` is cut to max_close_text bytes.
void write_close_frame(uint8_t code, const std::string& text, byte_buffer& out);

} // namespace crust::rudp
