#include "crust/transport/codec/connection_info.hpp"

#include "crust/messages/hex.hpp"

#include <array>
#include <cstring>

namespace crust {

namespace {

using info = public_connection_info;

failure bad(std::string detail) {
  return failure{errc::bad_connection_info, std::move(detail)};
}

std::string num(size_t x) {
  return std::to_string(x);
}

std::string hex_byte(uint8_t x) {
  std::string out = "0x";
  hex::append(out, x);
  return out;
}

// -- endpoint records ---------------------------------------------------------

/// The tag byte: transport in the high nibble, family in the low one.
uint8_t tag_of(const endpoint& ep) noexcept {
  return static_cast<uint8_t>((static_cast<unsigned>(ep.protocol) << 4)
                              | static_cast<unsigned>(ep.ip.family()));
}

/// Bytes of the address behind `tag`, or 0 for an unknown tag.
size_t address_size(uint8_t tag) noexcept {
  switch (tag) {
    case 0x14:
    case 0x24: return 4;
    case 0x16:
    case 0x26: return 16;
    default: return 0;
  }
}

/// Reads the record at `data` (whose tag is known and whose size was
/// checked).
endpoint read_endpoint(const uint8_t* data) noexcept {
  endpoint ep;
  auto tag = data[0];
  ep.protocol = (tag >> 4) == 2 ? transport_protocol::udp
                                : transport_protocol::tcp;
  auto n = address_size(tag);
  if (n == 4) {
    ip_address::v4_bytes bytes;
    std::memcpy(bytes.data(), data + 1, 4);
    ep.ip = ip_address::v4(bytes);
  } else {
    ip_address::v6_bytes bytes;
    std::memcpy(bytes.data(), data + 1, 16);
    ep.ip = ip_address::v6(bytes);
  }
  ep.port = static_cast<uint16_t>((data[1 + n] << 8) | data[2 + n]);
  return ep;
}

void write_endpoint(const endpoint& ep, byte_buffer& out) {
  out.push_back(tag_of(ep));
  out.insert(out.end(), ep.ip.data(), ep.ip.data() + ep.ip.size());
  out.push_back(static_cast<uint8_t>(ep.port >> 8));
  out.push_back(static_cast<uint8_t>(ep.port));
}

/// The bytes the binary form in `data` needs judging by its header and tags
/// as far as `data` goes, or 0 when they do not tell (a bad count or tag).
/// Tells a truncated text from a mistyped one.
size_t declared_size(const_byte_span data) noexcept {
  if (data.size() < info::header_size)
    return info::header_size;
  size_t count = data[info::header_size - 1];
  if (count > info::max_endpoints)
    return 0;
  size_t pos = info::header_size;
  for (size_t i = 0; i < count; ++i) {
    if (pos >= data.size())
      return pos + (count - i) * info::min_endpoint_size;
    auto n = address_size(data[pos]);
    if (n == 0)
      return 0;
    pos += 3 + n;
  }
  return pos;
}

// -- base32 (RFC 4648 alphabet, lower case, no padding) -----------------------

constexpr char base32_digits[] = "abcdefghijklmnopqrstuvwxyz234567";

int base32_value(char c) noexcept {
  if (c >= 'a' && c <= 'z')
    return c - 'a';
  if (c >= '2' && c <= '7')
    return c - '2' + 26;
  return -1;
}

void base32_append(std::string& out, const byte_buffer& bytes) {
  uint32_t acc = 0;
  int bits = 0;
  for (auto byte : bytes) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += base32_digits[(acc >> bits) & 0x1f];
    }
  }
  if (bits > 0)
    out += base32_digits[(acc << (5 - bits)) & 0x1f];
}

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// -- CRC-32C ------------------------------------------------------------------

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    auto x = i;
    for (int k = 0; k < 8; ++k)
      x = (x & 1) ? (x >> 1) ^ 0x82f63b78u : x >> 1;
    table[i] = x;
  }
  return table;
}

constexpr auto crc_table = make_crc_table();

} // namespace

uint32_t crc32c(const_byte_span bytes) noexcept {
  uint32_t crc = 0xffffffffu;
  for (auto byte : bytes)
    crc = crc_table[(crc ^ byte) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

status public_connection_info::validate() const {
  if (id.is_zero())
    return bad("the peer id is all zeros, which names no node");
  if (endpoints.size() > max_endpoints)
    return bad(num(endpoints.size()) + " endpoints; at most "
               + num(max_endpoints));
  for (size_t i = 0; i < endpoints.size(); ++i) {
    auto& ep = endpoints[i];
    auto name = "endpoint " + num(i) + " (" + ep.to_string() + ")";
    if (ep.port == 0)
      return bad(name + " has port 0");
    if (ep.ip.is_unspecified())
      return bad(name + " has the unspecified address, which names no host");
    for (size_t j = 0; j < i; ++j)
      if (endpoints[j] == ep)
        return bad(name + " repeats endpoint " + num(j));
  }
  return {};
}

expected<byte_buffer> public_connection_info::to_bytes() const {
  if (auto st = validate(); !st)
    return st.error();
  byte_buffer out;
  out.reserve(header_size + endpoints.size() * max_endpoint_size);
  out.push_back(version);
  out.push_back(kind);
  out.insert(out.end(), id.bytes().begin(), id.bytes().end());
  out.push_back(static_cast<uint8_t>(endpoints.size()));
  for (auto& ep : endpoints)
    write_endpoint(ep, out);
  return out;
}

expected<std::string> public_connection_info::to_text() const {
  auto bytes = to_bytes();
  if (!bytes)
    return bytes.error();
  // Little-endian, the order in which CRC-32C consumes bits: bytes and
  // checksum then form one CRC codeword, so every error burst of up to 32
  // bits (any one mistyped character, any two swapped ones) is caught.
  auto crc = crc32c(*bytes);
  for (int i = 0; i < 4; ++i)
    bytes->push_back(static_cast<uint8_t>(crc >> (8 * i)));
  std::string out{text_prefix};
  out.reserve(max_text_size);
  base32_append(out, *bytes);
  return out;
}

expected<public_connection_info>
public_connection_info::from_bytes(const_byte_span bytes) {
  if (bytes.empty())
    return bad("empty: no bytes at all");
  if (bytes[0] != version)
    return failure{errc::unknown_version,
                   "connection info version " + num(bytes[0])
                     + "; this build reads version " + num(version)};
  if (bytes.size() < header_size)
    return bad("truncated: " + num(bytes.size())
               + " bytes, the header alone has " + num(header_size));
  if (bytes[1] != kind)
    return bad("kind byte (byte offset 1) is " + hex_byte(bytes[1])
               + "; expected " + hex_byte(kind)
               + " for public connection info");
  public_connection_info out;
  peer_id::bytes_type id_bytes;
  std::memcpy(id_bytes.data(), bytes.data() + 2, peer_id::size);
  out.id = peer_id{id_bytes};
  size_t count = bytes[header_size - 1];
  if (count > max_endpoints)
    return bad("declares " + num(count) + " endpoints (byte offset "
               + num(header_size - 1) + "); at most " + num(max_endpoints));
  // Checked before reserving, although the count is small anyway.
  auto rest = bytes.size() - header_size;
  if (count * min_endpoint_size > rest)
    return bad("truncated: declares " + num(count)
               + " endpoints, which need at least "
               + num(count * min_endpoint_size) + " bytes; " + num(rest)
               + " follow the header");
  out.endpoints.reserve(count);
  size_t pos = header_size;
  for (size_t i = 0; i < count; ++i) {
    uint8_t tag = pos < bytes.size() ? bytes[pos] : 0;
    auto n = address_size(tag);
    if (pos >= bytes.size() || (n > 0 && bytes.size() - pos < 3 + n))
      return bad("truncated: endpoint " + num(i) + " at byte offset " + num(pos)
                 + " needs " + num(n > 0 ? 3 + n : 1) + " bytes; "
                 + num(bytes.size() - pos) + " remain");
    if (n == 0)
      return bad("endpoint " + num(i) + " at byte offset " + num(pos)
                 + " has the unknown tag " + hex_byte(tag)
                 + "; expected 0x14, 0x16 (tcp), 0x24 or 0x26 (udp)");
    out.endpoints.push_back(read_endpoint(bytes.data() + pos));
    pos += 3 + n;
  }
  if (pos != bytes.size())
    return bad(num(bytes.size() - pos)
               + " unexpected bytes after the last endpoint, at byte offset "
               + num(pos));
  if (auto st = out.validate(); !st)
    return st.error();
  return out;
}

expected<public_connection_info>
public_connection_info::from_text(std::string_view text) {
  // Copy and paste may bring a newline or spaces along.
  size_t first = 0;
  while (first < text.size() && is_space(text[first]))
    ++first;
  auto last = text.size();
  while (last > first && is_space(text[last - 1]))
    --last;
  auto line = text.substr(first, last - first);
  if (line.empty())
    return bad("empty text; expected " + std::string{text_prefix} + "...");
  if (line.size() > max_text_size)
    return bad("too long: " + num(line.size()) + " characters; at most "
               + num(max_text_size));
  if (line.substr(0, text_prefix.size()) != text_prefix) {
    std::string why = "expected the prefix '" + std::string{text_prefix}
                      + "' at position " + num(first);
    if (line.find('@') != std::string_view::npos)
      why += " (this looks like a contact, PEERID@ip:port, not connection "
             "info)";
    return bad(std::move(why));
  }
  auto body = line.substr(text_prefix.size());
  auto body_pos = first + text_prefix.size();
  byte_buffer bytes;
  bytes.reserve(body.size() * 5 / 8);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    auto value = base32_value(body[i]);
    if (value < 0) {
      auto why = "invalid character '" + hex::printable(body[i])
                 + "' at position " + num(body_pos + i)
                 + " (expected a to z or 2 to 7";
      if (body[i] >= 'A' && body[i] <= 'Z')
        why += "; the text form is lower case";
      return bad(why + ")");
    }
    acc = ((acc << 5) | static_cast<uint32_t>(value)) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<uint8_t>(acc >> bits));
    }
  }
  // 1, 3 or 6 characters past a multiple of 8 cannot end an encoding.
  if (bits >= 5)
    return bad("truncated: " + num(body.size())
               + " characters after the prefix do not make whole bytes");
  if ((acc & ((1u << bits) - 1)) != 0)
    return bad("invalid last character '" + hex::printable(body.back())
               + "' at position " + num(body_pos + body.size() - 1)
               + ": its unused low bits must be zero (mistyped?)");
  if (bytes.size() <= checksum_size)
    return bad("truncated: " + num(body.size())
               + " characters after the prefix");
  auto size = bytes.size() - checksum_size;
  uint32_t stored = 0;
  for (size_t i = 0; i < checksum_size; ++i)
    stored |= static_cast<uint32_t>(bytes[size + i]) << (8 * i);
  const_byte_span data{bytes.data(), size};
  if (crc32c(data) != stored) {
    // The checksum is not where the text ends if the paste was cut short.
    if (data[0] == version) {
      auto need = declared_size(data);
      if (need > size)
        return bad("truncated: the text holds at most " + num(size)
                   + " bytes of connection info, which needs at least "
                   + num(need) + " (was the paste cut short?)");
    }
    return bad("checksum mismatch: the text was mistyped, altered or cut "
               "short");
  }
  return from_bytes(data);
}

} // namespace crust
