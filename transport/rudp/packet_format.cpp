#include "crust/transport/rudp/packet_format.hpp"

#include <algorithm>
#include <iterator>
#include <string>

namespace crust::rudp {

namespace {

uint64_t read_u64(const uint8_t* p) noexcept {
  uint64_t x = 0;
  for (int i = 0; i < 8; ++i)
    x = (x << 8) | p[i];
  return x;
}

void write_u64(uint64_t x, byte_buffer& out) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<uint8_t>(x >> shift));
}

failure malformed(std::string what) {
  return {errc::malformed_message, std::move(what)};
}

} // namespace

expected<packet_header> parse_header(const_byte_span datagram) {
  if (datagram.size() < 2)
    return malformed("datagram too short for an rUDP header");
  if (datagram[0] != rudp_version)
    return failure{errc::unknown_version,
                   "rUDP version " + std::to_string(datagram[0]) + " (we speak "
                     + std::to_string(rudp_version) + ")"};
  packet_header hdr;
  switch (datagram[1]) {
    case static_cast<uint8_t>(packet_type::handshake):
      if (datagram.size() <= handshake_header_len)
        return malformed("handshake packet without an envelope");
      hdr.type = packet_type::handshake;
      hdr.destination_id = read_u64(datagram.data() + 2);
      hdr.source_id = read_u64(datagram.data() + 10);
      if (hdr.source_id == no_connection_id)
        return malformed("handshake packet without a source id");
      hdr.body = datagram.subspan(handshake_header_len);
      hdr.header_bytes = datagram.subspan(0, handshake_header_len);
      return hdr;
    case static_cast<uint8_t>(packet_type::data):
      if (datagram.size() < data_packet_overhead)
        return malformed("data packet shorter than its overhead");
      hdr.type = packet_type::data;
      hdr.destination_id = read_u64(datagram.data() + 2);
      if (hdr.destination_id == no_connection_id)
        return malformed("data packet for connection id 0");
      hdr.body = datagram.subspan(data_header_len);
      hdr.header_bytes = datagram.subspan(0, data_header_len);
      return hdr;
    default:
      return malformed("unknown packet type " + std::to_string(datagram[1]));
  }
}

std::optional<uint64_t> peek_destination_id(const_byte_span datagram) {
  if (datagram.size() < data_header_len || datagram[0] != rudp_version)
    return std::nullopt;
  return read_u64(datagram.data() + 2);
}

std::optional<uint64_t> initial_source_id(const_byte_span datagram) {
  auto hdr = parse_header(datagram);
  if (!hdr || hdr->type != packet_type::handshake
      || hdr->destination_id != no_connection_id)
    return std::nullopt;
  return hdr->source_id;
}

void write_handshake_packet(uint64_t destination_id, uint64_t source_id,
                            const_byte_span envelope, byte_buffer& out) {
  out.push_back(rudp_version);
  out.push_back(static_cast<uint8_t>(packet_type::handshake));
  write_u64(destination_id, out);
  write_u64(source_id, out);
  out.insert(out.end(), envelope.begin(), envelope.end());
}

void write_data_header(uint64_t destination_id, byte_buffer& out) {
  out.push_back(rudp_version);
  out.push_back(static_cast<uint8_t>(packet_type::data));
  write_u64(destination_id, out);
}

// -- varints -----------------------------------------------------------------

size_t varint_size(uint64_t x) noexcept {
  if (x < 64)
    return 1;
  if (x < 16384)
    return 2;
  if (x < (uint64_t{1} << 30))
    return 4;
  return 8;
}

void write_varint(uint64_t x, byte_buffer& out) {
  auto n = varint_size(x);
  // The two top bits of the first byte give the length as log2(bytes).
  uint8_t prefix = n == 1 ? 0x00 : n == 2 ? 0x40 : n == 4 ? 0x80 : 0xC0;
  for (size_t i = 0; i < n; ++i) {
    auto byte = static_cast<uint8_t>(x >> (8 * (n - 1 - i)));
    out.push_back(i == 0 ? static_cast<uint8_t>(byte | prefix) : byte);
  }
}

std::optional<uint64_t> read_varint(const_byte_span in, size_t& pos) noexcept {
  if (pos >= in.size())
    return std::nullopt;
  size_t n = size_t{1} << (in[pos] >> 6);
  if (in.size() - pos < n)
    return std::nullopt;
  uint64_t x = in[pos] & 0x3F;
  for (size_t i = 1; i < n; ++i)
    x = (x << 8) | in[pos + i];
  pos += n;
  return x;
}

// -- frames ------------------------------------------------------------------

namespace {

expected<ack_frame> parse_ack(const_byte_span in, size_t& pos) {
  auto largest = read_varint(in, pos);
  auto delay = read_varint(in, pos);
  auto extra = read_varint(in, pos);
  auto first_len = read_varint(in, pos);
  if (!largest || !delay || !extra || !first_len)
    return malformed("truncated ACK frame");
  if (*extra >= max_ack_ranges)
    return malformed("ACK frame with too many ranges");
  if (*first_len > *largest)
    return malformed("ACK range below packet number 0");
  ack_frame ack;
  ack.delay_us = *delay;
  ack.ranges.reserve(static_cast<size_t>(*extra) + 1);
  ack.ranges.push_back({*largest - *first_len, *largest});
  for (uint64_t i = 0; i < *extra; ++i) {
    auto gap = read_varint(in, pos);
    auto len = read_varint(in, pos);
    if (!gap || !len)
      return malformed("truncated ACK range");
    auto low = ack.ranges.back().low;
    // The next range ends at least two below the previous one's low end
    // (one unacknowledged number between them).
    if (*gap + 2 > low || *len > low - *gap - 2)
      return malformed("ACK range below packet number 0");
    auto high = low - *gap - 2;
    ack.ranges.push_back({high - *len, high});
  }
  return ack;
}

} // namespace

expected<packet_frames> parse_frames(const_byte_span in) {
  if (in.empty())
    return malformed("data packet without frames");
  packet_frames result;
  size_t pos = 0;
  while (pos < in.size()) {
    auto type = in[pos++];
    switch (type) {
      case static_cast<uint8_t>(frame_type::padding): break;
      case static_cast<uint8_t>(frame_type::ping):
        result.ack_eliciting = true;
        break;
      case static_cast<uint8_t>(frame_type::ack): {
        if (result.ack)
          return malformed("second ACK frame in one packet");
        auto ack = parse_ack(in, pos);
        if (!ack)
          return ack.error();
        result.ack = std::move(*ack);
        break;
      }
      case static_cast<uint8_t>(frame_type::stream): {
        auto offset = read_varint(in, pos);
        auto len = read_varint(in, pos);
        if (!offset || !len || *len > in.size() - pos)
          return malformed("truncated STREAM frame");
        if (*offset + *len > max_varint)
          return malformed("STREAM frame beyond the largest offset");
        result.streams.push_back(
          {*offset, in.subspan(pos, static_cast<size_t>(*len))});
        pos += static_cast<size_t>(*len);
        result.ack_eliciting = true;
        break;
      }
      case static_cast<uint8_t>(frame_type::max_data): {
        auto limit = read_varint(in, pos);
        if (!limit)
          return malformed("truncated MAX_DATA frame");
        result.max_data = std::max(result.max_data.value_or(0), *limit);
        result.ack_eliciting = true;
        break;
      }
      case static_cast<uint8_t>(frame_type::close): {
        if (pos >= in.size())
          return malformed("truncated CLOSE frame");
        close_frame cf;
        cf.code = in[pos++];
        auto len = read_varint(in, pos);
        if (!len || *len > in.size() - pos || *len > max_close_text)
          return malformed("truncated or oversized CLOSE text");
        auto text = in.subspan(pos, static_cast<size_t>(*len));
        cf.text.assign(text.begin(), text.end());
        pos += static_cast<size_t>(*len);
        result.close = std::move(cf);
        result.ack_eliciting = true;
        break;
      }
      default: return malformed("unknown frame type " + std::to_string(type));
    }
  }
  return result;
}

bool write_ack_frame(const range_set& received, uint64_t delay_us,
                     size_t budget, byte_buffer& out) {
  if (received.empty())
    return false;
  const auto& ranges = received.ranges();
  auto i = ranges.rbegin();
  auto largest = i->second - 1;
  auto first_len = i->second - 1 - i->first;
  byte_buffer frame;
  frame.push_back(static_cast<uint8_t>(frame_type::ack));
  write_varint(largest, frame);
  write_varint(std::min(delay_us, max_varint), frame);
  // The range count is written last, once known; reserve its worst case.
  auto fixed = frame.size();
  byte_buffer body;
  write_varint(first_len, body);
  if (fixed + 2 + body.size() > budget)
    return false;
  uint64_t extra = 0;
  auto low = i->first;
  for (++i; i != ranges.rend() && extra + 1 < max_ack_ranges; ++i) {
    auto high = i->second - 1;
    auto gap = low - high - 2;
    auto len = high - i->first;
    if (fixed + 2 + body.size() + varint_size(gap) + varint_size(len) > budget)
      break;
    write_varint(gap, body);
    write_varint(len, body);
    low = i->first;
    ++extra;
  }
  write_varint(extra, frame);
  out.insert(out.end(), frame.begin(), frame.end());
  out.insert(out.end(), body.begin(), body.end());
  return true;
}

size_t stream_frame_header_size(uint64_t offset, size_t length) noexcept {
  return 1 + varint_size(offset) + varint_size(length);
}

void write_stream_frame_header(uint64_t offset, size_t length,
                               byte_buffer& out) {
  out.push_back(static_cast<uint8_t>(frame_type::stream));
  write_varint(offset, out);
  write_varint(length, out);
}

void write_max_data_frame(uint64_t limit, byte_buffer& out) {
  out.push_back(static_cast<uint8_t>(frame_type::max_data));
  write_varint(std::min(limit, max_varint), out);
}

void write_close_frame(uint8_t code, const std::string& text,
                       byte_buffer& out) {
  out.push_back(static_cast<uint8_t>(frame_type::close));
  out.push_back(code);
  auto len = std::min(text.size(), max_close_text);
  write_varint(len, out);
  out.insert(out.end(), text.begin(), text.begin() + static_cast<long>(len));
}

} // namespace crust::rudp
