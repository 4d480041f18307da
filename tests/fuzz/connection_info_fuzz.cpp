// libFuzzer target: endpoints, contacts and public connection info
// (transport/codec/endpoint, transport/codec/connection_info).
//
// Byte 0 selects the mode (modulo 6); the rest is the input:
//   0 bytes     `public_connection_info::from_bytes` on the rest;
//   1 text      `public_connection_info::from_text` on the rest;
//   2 endpoint  `endpoint::parse` and `ip_address::parse` on the rest;
//   3 contact   `contact::parse` on the rest;
//   4 mutate    the rest builds an info (id, endpoints of each kind); if it
//               is valid, its text form gets one character replaced, swapped
//               with its neighbour or deleted, at a position and with a
//               character taken from the input;
//   5 wrapped   the rest, as binary, put in a text form with a correct
//               checksum: the text decoder must answer exactly as the
//               binary decoder (same value, or same code and detail).
// Invariants (a broken one traps):
//   - whatever decodes re-encodes, and decoding that gives the same value;
//     the codecs are canonical, so the binary re-encodes to the input bytes
//     and the text to the input without surrounding whitespace;
//   - a failure carries one of the documented codes and a detail;
//   - a changed text never decodes to the original info (the checksum).
//
// To regenerate the seed corpus:
//   CRUST_FUZZ_WRITE_SEEDS=tests/fuzz/corpus/connection_info \
//     ./build/fuzz/tests/fuzz/connection_info_fuzz -runs=0

#include "crust/transport/codec/connection_info.hpp"
#include "crust/transport/codec/endpoint.hpp"

#include "fuzz_support.hpp"

#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>

using namespace crust;
using namespace crust::fuzz;

namespace {

using info = public_connection_info;

enum mode : uint8_t {
  mode_bytes = 0,
  mode_text = 1,
  mode_endpoint = 2,
  mode_contact = 3,
  mode_mutate = 4,
  mode_wrapped = 5,
};

std::string_view as_text(const_byte_span bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_space(text.back()))
    text.remove_suffix(1);
  return text;
}

void require_failure(const failure& err, errc a, errc b) {
  require(err.code == a || err.code == b);
  require(!err.detail.empty());
}

/// Both forms of a valid `x` decode to `x`.
void require_round_trips(const info& x) {
  require(static_cast<bool>(x.validate()));
  auto bytes = x.to_bytes();
  require(static_cast<bool>(bytes));
  require(bytes->size() <= info::max_size);
  auto from_bytes = info::from_bytes(*bytes);
  require(from_bytes && *from_bytes == x);
  auto text = x.to_text();
  require(static_cast<bool>(text));
  require(text->size() <= info::max_text_size);
  auto from_text = info::from_text(*text);
  require(from_text && *from_text == x);
}

void run_bytes(const_byte_span input) {
  auto x = info::from_bytes(input);
  if (!x) {
    require_failure(x.error(), errc::bad_connection_info,
                    errc::unknown_version);
    return;
  }
  require(x->endpoints.size() <= info::max_endpoints);
  require_round_trips(*x);
  require(*x->to_bytes() == input.to_buffer());
}

void run_text(const_byte_span input) {
  auto text = as_text(input);
  auto x = info::from_text(text);
  if (!x) {
    require_failure(x.error(), errc::bad_connection_info,
                    errc::unknown_version);
    return;
  }
  require_round_trips(*x);
  require(*x->to_text() == trimmed(text));
}

void run_endpoint(const_byte_span input) {
  auto text = as_text(input);
  if (auto ep = endpoint::parse(text); ep) {
    require(ep->port != 0);
    auto printed = ep->to_string();
    auto again = endpoint::parse(printed);
    require(again && *again == *ep && again->to_string() == printed);
  } else {
    require_failure(ep.error(), errc::bad_address, errc::bad_address);
  }
  if (auto ip = ip_address::parse(text); ip) {
    auto printed = ip->to_string();
    require(printed.size() <= ip_address::max_text_size);
    auto again = ip_address::parse(printed);
    require(again && *again == *ip && again->to_string() == printed);
  } else {
    require_failure(ip.error(), errc::bad_address, errc::bad_address);
  }
}

void run_contact(const_byte_span input) {
  auto c = contact::parse(as_text(input));
  if (!c) {
    require_failure(c.error(), errc::bad_address, errc::bad_peer_id);
    return;
  }
  require(!c->id.is_zero() && c->addr.port != 0);
  auto printed = c->to_string();
  auto again = contact::parse(printed);
  require(again && *again == *c && again->to_string() == printed);
}

/// Builds an info from the input: a 32-byte id, then records of a kind byte
/// (bit 0: UDP, bit 1: IPv6), the address bytes and a 2-byte port.
info build(reader& in) {
  info x;
  peer_id::bytes_type id;
  for (auto& byte : id)
    byte = in.u8();
  x.id = peer_id{id};
  auto count = in.u8() % (info::max_endpoints + 2);
  for (size_t i = 0; i < count; ++i) {
    auto kind = in.u8();
    endpoint ep;
    ep.protocol = (kind & 1) ? transport_protocol::udp
                             : transport_protocol::tcp;
    if (kind & 2) {
      ip_address::v6_bytes bytes;
      for (auto& byte : bytes)
        byte = in.u8();
      ep.ip = ip_address::v6(bytes);
    } else {
      ip_address::v4_bytes bytes;
      for (auto& byte : bytes)
        byte = in.u8();
      ep.ip = ip_address::v4(bytes);
    }
    ep.port = static_cast<uint16_t>(in.u16());
    x.endpoints.push_back(ep);
  }
  return x;
}

void run_mutate(reader& in) {
  auto x = build(in);
  if (!x.validate()) {
    require(!x.to_bytes() && !x.to_text());
    return;
  }
  require_round_trips(x);
  auto text = *x.to_text();
  auto pos = in.u16() % text.size();
  auto op = in.u8() % 3;
  auto changed = text;
  if (op == 0) {
    auto c = static_cast<char>(in.u8());
    if (c == text[pos])
      return;
    changed[pos] = c;
  } else if (op == 1) {
    if (pos + 1 >= text.size() || text[pos] == text[pos + 1])
      return;
    std::swap(changed[pos], changed[pos + 1]);
  } else {
    changed.erase(pos, 1);
  }
  auto y = info::from_text(changed);
  require(!y || *y != x);
}

/// The text form of arbitrary `bytes` with a correct checksum, encoded bit by
/// bit (independently of the codec).
std::string wrap(const_byte_span bytes) {
  auto buf = bytes.to_buffer();
  auto crc = crc32c(bytes);
  for (int i = 0; i < 4; ++i)
    buf.push_back(static_cast<uint8_t>(crc >> (8 * i)));
  const char* alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  std::string out{info::text_prefix};
  size_t nbits = buf.size() * 8;
  for (size_t bit = 0; bit < nbits; bit += 5) {
    int value = 0;
    for (size_t k = bit; k < bit + 5; ++k)
      value = (value << 1) | (k < nbits ? (buf[k / 8] >> (7 - k % 8)) & 1 : 0);
    out += alphabet[value];
  }
  return out;
}

void run_wrapped(const_byte_span input) {
  auto text = wrap(input);
  auto x = info::from_bytes(input);
  auto y = info::from_text(text);
  // The text layer refuses these first: too long, or nothing but a checksum.
  if (text.size() > info::max_text_size || input.empty()) {
    require(!y && y.error().code == errc::bad_connection_info);
    return;
  }
  require(static_cast<bool>(x) == static_cast<bool>(y));
  if (x) {
    require(*x == *y && *x->to_text() == text);
  } else {
    require(x.error().code == y.error().code);
    require(x.error().detail == y.error().detail);
  }
}

// -- seeds --------------------------------------------------------------------

info seed_info(std::initializer_list<const char*> endpoints) {
  info x;
  peer_id::bytes_type id;
  for (size_t i = 0; i < id.size(); ++i)
    id[i] = static_cast<uint8_t>(0x11 * (i % 16) + 1);
  x.id = peer_id{id};
  for (auto text : endpoints)
    x.endpoints.push_back(*endpoint::parse(text));
  return x;
}

info seed_largest() {
  auto x = seed_info({});
  for (int i = 0; i < 32; ++i)
    x.endpoints.push_back(*endpoint::parse(
      (i % 2 ? "udp://[2001:db8::" : "[2001:db8::") + std::to_string(i + 1)
      + "]:" + std::to_string(i + 1000)));
  return x;
}

byte_buffer with_mode(uint8_t m, const_byte_span rest) {
  byte_buffer out{m};
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

byte_buffer with_mode(uint8_t m, std::string_view rest) {
  return with_mode(
    m, const_byte_span{reinterpret_cast<const uint8_t*>(rest.data()),
                       rest.size()});
}

void write_seeds(const std::string& dir) {
  std::pair<const char*, info> infos[] = {
    {"empty", seed_info({})},
    {"v4", seed_info({"192.0.2.1:5483"})},
    {"v6", seed_info({"[2001:db8::1]:5483"})},
    {"mixed", seed_info({"192.0.2.1:5483", "udp://192.0.2.1:5483",
                         "[2001:db8::1]:5483", "udp://[::ffff:10.0.0.1]:9"})},
    {"largest", seed_largest()},
  };
  for (auto& [name, x] : infos) {
    auto bytes = *x.to_bytes();
    write_file(dir, std::string{"bytes_"} + name, with_mode(mode_bytes, bytes));
    write_file(dir, std::string{"text_"} + name,
               with_mode(mode_text, *x.to_text()));
    write_file(dir, std::string{"wrapped_"} + name,
               with_mode(mode_wrapped, bytes));
  }
  // A few refusals: unknown version, too many endpoints, bad tag, padded
  // text, wrong prefix.
  auto v2 = *infos[1].second.to_bytes();
  v2[0] = 2;
  write_file(dir, "bytes_version2", with_mode(mode_bytes, v2));
  auto many = *infos[0].second.to_bytes();
  many.back() = 33;
  write_file(dir, "bytes_count33", with_mode(mode_bytes, many));
  auto tag = *infos[1].second.to_bytes();
  tag[info::header_size] = 0x15;
  write_file(dir, "bytes_badtag", with_mode(mode_bytes, tag));
  write_file(dir, "text_spaces",
             with_mode(mode_text, "  " + *infos[3].second.to_text() + "\n"));
  write_file(dir, "text_prefix", with_mode(mode_text, "crustinf:aaaa"));
  const char* endpoints[] = {
    "192.0.2.1:5483", "udp://[2001:db8::1]:5483", "[fe80::1%eth0]:1",
    "example.com:80", "[::ffff:1.2.3.4]:65535",   "1.2.3.4:0",
    "2001:db8::1:80", "tcp://10.0.0.1:00080",     "::1",
  };
  for (size_t i = 0; i < std::size(endpoints); ++i)
    write_file(dir, "endpoint_" + std::to_string(i),
               with_mode(mode_endpoint, endpoints[i]));
  auto id = infos[0].second.id.to_hex();
  std::string contacts[] = {
    id + "@192.0.2.1:5483",
    "udp://" + id + "@[2001:db8::1]:5483",
    id + "@udp://1.2.3.4:5",
    id.substr(1) + "@1.2.3.4:5",
  };
  for (size_t i = 0; i < std::size(contacts); ++i)
    write_file(dir, "contact_" + std::to_string(i),
               with_mode(mode_contact, contacts[i]));
  // Mutations: id, count 3, then a TCP v4, a UDP v6 and a TCP v6 record, then
  // position and operation.
  byte_buffer m(32, 0x42);
  m.push_back(3);
  for (auto b : {0x00, 192, 0, 2, 1, 0x15, 0x6b})
    m.push_back(static_cast<uint8_t>(b));
  m.push_back(0x03);
  for (int i = 0; i < 16; ++i)
    m.push_back(static_cast<uint8_t>(i == 0 ? 0x20 : i == 15 ? 1 : 0));
  m.push_back(0x15);
  m.push_back(0x6b);
  m.push_back(0x02);
  for (int i = 0; i < 16; ++i)
    m.push_back(static_cast<uint8_t>(i == 15 ? 2 : 0));
  m.push_back(0x00);
  m.push_back(0x50);
  for (uint8_t op = 0; op < 3; ++op) {
    auto seed = m;
    seed.push_back(0);
    seed.push_back(static_cast<uint8_t>(20 + 7 * op));
    seed.push_back(op);
    seed.push_back('q');
    write_file(dir, "mutate_" + std::to_string(op),
               with_mode(mode_mutate, seed));
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  return write_seeds_if_asked(write_seeds);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  reader in{data, size};
  auto m = in.u8() % 6;
  auto rest = in.take(size);
  switch (m) {
    case mode_bytes: run_bytes(rest); break;
    case mode_text: run_text(rest); break;
    case mode_endpoint: run_endpoint(rest); break;
    case mode_contact: run_contact(rest); break;
    case mode_wrapped: run_wrapped(rest); break;
    default: {
      reader script{rest.data(), rest.size()};
      run_mutate(script);
    }
  }
  return 0;
}
