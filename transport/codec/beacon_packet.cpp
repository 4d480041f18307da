#include "crust/transport/codec/beacon_packet.hpp"

#include "crust/transport/noise/primitives.hpp"

#include <algorithm>
#include <string>

namespace crust::beacon {

namespace {

constexpr uint8_t kind_request = 1;
constexpr uint8_t kind_reply = 2;

/// Bytes of a request before its padding.
constexpr size_t request_header_size = 2 + hash_size + 8;

failure malformed(std::string detail) {
  return failure{errc::malformed_message,
                 "beacon packet: " + std::move(detail)};
}

void put_u64(byte_buffer& out, uint64_t x) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<uint8_t>(x >> shift));
}

uint64_t get_u64(const uint8_t* p) {
  uint64_t x = 0;
  for (int i = 0; i < 8; ++i)
    x = (x << 8) | p[i];
  return x;
}

/// The record tag of an endpoint (docs/wire-protocol.md, section 9.2).
uint8_t tag_of(const endpoint& ep) {
  auto transport = ep.protocol == transport_protocol::tcp ? 0x10 : 0x20;
  return static_cast<uint8_t>(transport | (ep.ip.is_v4() ? 4 : 6));
}

void put_header(byte_buffer& out, uint8_t kind, const network_hash& network,
                uint64_t nonce) {
  out.push_back(version);
  out.push_back(kind);
  out.insert(out.end(), network.begin(), network.end());
  put_u64(out, nonce);
}

} // namespace

network_hash hash_network_name(std::string_view name) {
  std::string input = "crust-beacon-v1:";
  input += name;
  return noise::hash(
    noise::hash_kind::sha256,
    const_byte_span{reinterpret_cast<const uint8_t*>(input.data()),
                    input.size()});
}

bool operator==(const request& x, const request& y) {
  return x.network == y.network && x.nonce == y.nonce;
}

bool operator==(const reply& x, const reply& y) {
  return x.network == y.network && x.nonce == y.nonce && x.id == y.id
         && x.endpoints == y.endpoints;
}

byte_buffer encode(const request& x) {
  byte_buffer out;
  out.reserve(request_size);
  put_header(out, kind_request, x.network, x.nonce);
  out.resize(request_size, 0);
  return out;
}

expected<byte_buffer> encode(const reply& x) {
  if (x.id.is_zero())
    return malformed("a reply needs a non-zero peer id");
  std::vector<endpoint> kept;
  for (const auto& ep : x.endpoints) {
    if (kept.size() == max_reply_endpoints)
      break;
    if (ep.port == 0 || ep.ip.is_unspecified()
        || std::find(kept.begin(), kept.end(), ep) != kept.end())
      continue;
    kept.push_back(ep);
  }
  byte_buffer out;
  out.reserve(max_reply_size);
  put_header(out, kind_reply, x.network, x.nonce);
  out.insert(out.end(), x.id.bytes().begin(), x.id.bytes().end());
  out.push_back(static_cast<uint8_t>(kept.size()));
  for (const auto& ep : kept) {
    out.push_back(tag_of(ep));
    out.insert(out.end(), ep.ip.data(), ep.ip.data() + ep.ip.size());
    out.push_back(static_cast<uint8_t>(ep.port >> 8));
    out.push_back(static_cast<uint8_t>(ep.port));
  }
  return out;
}

expected<packet> decode(const_byte_span bytes) {
  if (bytes.size() < request_header_size)
    return malformed("truncated: " + std::to_string(bytes.size()) + " bytes");
  if (bytes[0] != version)
    return failure{errc::unknown_version,
                   "beacon packet version " + std::to_string(bytes[0])
                     + "; this build reads version " + std::to_string(version)};
  network_hash network{};
  std::copy_n(bytes.data() + 2, hash_size, network.begin());
  auto nonce = get_u64(bytes.data() + 2 + hash_size);
  if (bytes[1] == kind_request) {
    if (bytes.size() != request_size)
      return malformed("a request has " + std::to_string(request_size)
                       + " bytes, got " + std::to_string(bytes.size()));
    auto padding = bytes.subspan(request_header_size);
    if (!std::all_of(padding.begin(), padding.end(), [](uint8_t b) {
          return b == 0;
        }))
      return malformed("non-zero padding");
    return packet{request{network, nonce}};
  }
  if (bytes[1] != kind_reply)
    return malformed("unknown kind " + std::to_string(bytes[1]));
  if (bytes.size() < reply_header_size)
    return malformed("truncated reply: " + std::to_string(bytes.size())
                     + " bytes");
  reply out;
  out.network = network;
  out.nonce = nonce;
  peer_id::bytes_type id{};
  std::copy_n(bytes.data() + request_header_size, peer_id::size, id.begin());
  out.id = peer_id{id};
  if (out.id.is_zero())
    return malformed("zero peer id");
  size_t count = bytes[reply_header_size - 1];
  if (count > max_reply_endpoints)
    return malformed("too many endpoints: " + std::to_string(count));
  // Every record has at least 7 bytes: judge the count before reserving.
  if (count * 7 > bytes.size() - reply_header_size)
    return malformed("truncated: " + std::to_string(count) + " endpoints "
                     + "declared");
  out.endpoints.reserve(count);
  size_t pos = reply_header_size;
  for (size_t n = 0; n < count; ++n) {
    auto where = "endpoint " + std::to_string(n);
    if (pos >= bytes.size())
      return malformed(where + ": truncated");
    auto tag = bytes[pos++];
    endpoint ep;
    auto transport = tag >> 4;
    auto family = tag & 0x0f;
    if ((transport != 1 && transport != 2) || (family != 4 && family != 6))
      return malformed(where + ": unknown tag " + std::to_string(tag));
    ep.protocol = transport == 1 ? transport_protocol::tcp
                                 : transport_protocol::udp;
    size_t addr_size = family == 4 ? 4 : 16;
    if (bytes.size() - pos < addr_size + 2)
      return malformed(where + ": truncated");
    if (family == 4) {
      ip_address::v4_bytes addr;
      std::copy_n(bytes.data() + pos, 4, addr.begin());
      ep.ip = ip_address::v4(addr);
    } else {
      ip_address::v6_bytes addr;
      std::copy_n(bytes.data() + pos, 16, addr.begin());
      ep.ip = ip_address::v6(addr);
    }
    pos += addr_size;
    ep.port = static_cast<uint16_t>((bytes[pos] << 8) | bytes[pos + 1]);
    pos += 2;
    if (ep.port == 0)
      return malformed(where + ": port 0");
    if (ep.ip.is_unspecified())
      return malformed(where + ": unspecified address");
    if (std::find(out.endpoints.begin(), out.endpoints.end(), ep)
        != out.endpoints.end())
      return malformed(where + ": duplicate");
    out.endpoints.push_back(ep);
  }
  if (pos != bytes.size())
    return malformed(std::to_string(bytes.size() - pos) + " trailing bytes");
  return packet{std::move(out)};
}

} // namespace crust::beacon
