#include "crust/transport/codec/endpoint.hpp"

#include "crust/messages/hex.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <ostream>

namespace crust {

namespace {

constexpr size_t npos = std::string_view::npos;

/// Texts longer than this are cut in error details.
constexpr size_t max_quoted = 48;

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string at(size_t pos) {
  return "at position " + std::to_string(pos);
}

/// `text` in quotes for an error detail, cut if long, non-printable
/// characters escaped.
std::string quoted(std::string_view text) {
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < max_quoted; ++i)
    out += hex::printable(text[i]);
  if (text.size() > max_quoted)
    out += "...";
  out += '\'';
  return out;
}

failure bad(std::string detail) {
  return failure{errc::bad_address, std::move(detail)};
}

failure bad_char(std::string_view text, size_t i, size_t offset,
                 std::string_view where) {
  std::string out = "invalid character '";
  out += hex::printable(text[i]);
  out += "' ";
  out += at(offset + i);
  out += where;
  return bad(std::move(out));
}

/// Characters of a DNS name, to tell "a host name" from "garbage".
bool looks_like_host_name(std::string_view text) noexcept {
  bool has_alpha = false;
  for (auto c : text) {
    if (is_alpha(c))
      has_alpha = true;
    else if (!is_digit(c) && c != '.' && c != '-')
      return false;
  }
  return has_alpha;
}

/// `inet_pton` wants a NUL-terminated string; `text` holds only validated
/// characters and is at most `ip_address::max_text_size` long.
bool pton(int af, std::string_view text, void* dst) {
  char buf[ip_address::max_text_size + 1];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  return inet_pton(af, buf, dst) == 1;
}

/// Parses a literal address starting at `offset` of the caller's text.
expected<ip_address> parse_ip(std::string_view text, size_t offset) {
  if (text.empty())
    return bad("missing address " + at(offset));
  if (text.find(':') == npos) {
    for (size_t i = 0; i < text.size(); ++i) {
      auto c = text[i];
      if (is_digit(c) || c == '.')
        continue;
      if (looks_like_host_name(text))
        return bad(quoted(text) + " " + at(offset)
                   + " is a host name; only literal IP addresses are "
                     "accepted here (resolve the name first)");
      return bad_char(text, i, offset, " in the IPv4 address");
    }
    ip_address::v4_bytes bytes;
    if (text.size() > 15 || !pton(AF_INET, text, bytes.data()))
      return bad(quoted(text) + " " + at(offset)
                 + " is not a valid IPv4 address (expected four numbers 0 "
                   "to 255 without leading zeros, e.g. 192.0.2.1)");
    return ip_address::v4(bytes);
  }
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = text[i];
    if (c == '%')
      return bad("zone id " + quoted(text.substr(i)) + " " + at(offset + i)
                 + " is not supported: it means nothing to another host");
    if (hex::value(c) < 0 && c != ':' && c != '.')
      return bad_char(text, i, offset, " in the IPv6 address");
  }
  ip_address::v6_bytes bytes;
  if (text.size() > ip_address::max_text_size
      || !pton(AF_INET6, text, bytes.data()))
    return bad(quoted(text) + " " + at(offset)
               + " is not a valid IPv6 address");
  return ip_address::v6(bytes);
}

/// Parses the decimal port at `offset` of the caller's text: all of `text`.
expected<uint16_t> parse_port(std::string_view text, size_t offset) {
  if (text.empty())
    return bad("missing port after ':' " + at(offset));
  size_t digits = 0;
  while (digits < text.size() && is_digit(text[digits]))
    ++digits;
  if (digits == 0)
    return bad_char(text, 0, offset, " (expected a port, 1 to 65535)");
  if (digits < text.size())
    return bad("unexpected character '" + hex::printable(text[digits]) + "' "
               + at(offset + digits) + " after the port");
  // Five digits cannot overflow; more are out of range anyway.
  uint32_t value = 0;
  for (size_t i = 0; i < digits && i < 6; ++i)
    value = value * 10 + static_cast<uint32_t>(text[i] - '0');
  if (value == 0)
    return bad("port 0 " + at(offset) + ": ports are 1 to 65535");
  if (digits > 5 || value > 65535)
    return bad("port " + quoted(text) + " " + at(offset)
               + " is out of range (1 to 65535)");
  return static_cast<uint16_t>(value);
}

/// Length of a `scheme://` prefix of `text` (letters only), or 0.
size_t scheme_length(std::string_view text) noexcept {
  auto sep = text.find("://");
  if (sep == npos || sep == 0)
    return 0;
  for (size_t i = 0; i < sep; ++i)
    if (!is_alpha(text[i]))
      return 0;
  return sep + 3;
}

expected<transport_protocol> parse_scheme(std::string_view scheme,
                                          size_t offset) {
  if (scheme == "tcp://")
    return transport_protocol::tcp;
  if (scheme == "udp://")
    return transport_protocol::udp;
  return bad("unknown transport " + quoted(scheme) + " " + at(offset)
             + " (expected tcp:// or udp://)");
}

/// Parses `ADDRESS:PORT` (no scheme) at `offset` of the caller's text.
expected<endpoint> parse_address_and_port(std::string_view text, size_t offset,
                                          transport_protocol protocol) {
  if (text.empty())
    return bad("missing address " + at(offset));
  std::string_view host;
  size_t host_offset = 0;
  size_t colon = 0; // index of the ':' in front of the port
  if (text[0] == '[') {
    auto close = text.find(']');
    if (close == npos)
      return bad("missing ']' for the '[' " + at(offset));
    host = text.substr(1, close - 1);
    host_offset = offset + 1;
    if (host.find(':') == npos) {
      auto ip = parse_ip(host, host_offset);
      if (!ip)
        return ip.error();
      return bad("brackets " + at(offset)
                 + " are for IPv6 addresses only; write an IPv4 address "
                   "without them");
    }
    if (close + 1 == text.size())
      return bad("missing ':port' after ']' " + at(offset + close));
    if (text[close + 1] != ':')
      return bad("unexpected character '" + hex::printable(text[close + 1])
                 + "' " + at(offset + close + 1) + " after ']' (expected ':')");
    colon = close + 1;
  } else {
    colon = text.find(':');
    if (colon == npos)
      return bad("missing ':port' after the address "
                 + at(offset + text.size()));
    auto second = text.find(':', colon + 1);
    if (second != npos)
      return bad("second ':' " + at(offset + second)
                 + ": an IPv6 address must be in brackets, as in "
                   "[2001:db8::1]:5483");
    host = text.substr(0, colon);
    host_offset = offset;
  }
  auto ip = parse_ip(host, host_offset);
  if (!ip)
    return ip.error();
  auto port = parse_port(text.substr(colon + 1), offset + colon + 1);
  if (!port)
    return port.error();
  return endpoint{protocol, *ip, *port};
}

} // namespace

// -- transport_protocol -------------------------------------------------------

std::string_view to_string(transport_protocol x) noexcept {
  return x == transport_protocol::udp ? "udp" : "tcp";
}

// -- ip_address ---------------------------------------------------------------

ip_address ip_address::v4(const v4_bytes& bytes) noexcept {
  ip_address out;
  out.family_ = ip_family::v4;
  std::memcpy(out.bytes_.data(), bytes.data(), bytes.size());
  return out;
}

ip_address ip_address::v6(const v6_bytes& bytes) noexcept {
  ip_address out;
  out.family_ = ip_family::v6;
  out.bytes_ = bytes;
  return out;
}

expected<ip_address> ip_address::parse(std::string_view text) {
  return parse_ip(text, 0);
}

bool ip_address::is_unspecified() const noexcept {
  for (auto byte : bytes_)
    if (byte != 0)
      return false;
  return true;
}

bool ip_address::is_loopback() const noexcept {
  if (is_v4())
    return bytes_[0] == 127;
  for (size_t i = 0; i < 15; ++i)
    if (bytes_[i] != 0)
      return false;
  return bytes_[15] == 1;
}

std::string ip_address::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  auto af = is_v4() ? AF_INET : AF_INET6;
  // Cannot fail: the family is valid and the buffer large enough.
  inet_ntop(af, bytes_.data(), buf, sizeof(buf));
  return buf;
}

int ip_address::compare(const ip_address& other) const noexcept {
  if (family_ != other.family_)
    return is_v4() ? -1 : 1;
  return std::memcmp(bytes_.data(), other.bytes_.data(), bytes_.size());
}

std::string to_string(const ip_address& x) {
  return x.to_string();
}

std::ostream& operator<<(std::ostream& out, const ip_address& x) {
  return out << x.to_string();
}

// -- endpoint -----------------------------------------------------------------

expected<endpoint> endpoint::parse(std::string_view text) {
  auto protocol = transport_protocol::tcp;
  auto n = scheme_length(text);
  if (n > 0) {
    auto scheme = parse_scheme(text.substr(0, n), 0);
    if (!scheme)
      return scheme.error();
    protocol = *scheme;
  }
  return parse_address_and_port(text.substr(n), n, protocol);
}

std::string endpoint::to_string() const {
  std::string out;
  if (protocol == transport_protocol::udp)
    out = "udp://";
  if (ip.is_v6()) {
    out += '[';
    out += ip.to_string();
    out += ']';
  } else {
    out += ip.to_string();
  }
  out += ':';
  out += std::to_string(port);
  return out;
}

int endpoint::compare(const endpoint& other) const noexcept {
  if (protocol != other.protocol)
    return protocol < other.protocol ? -1 : 1;
  if (auto res = ip.compare(other.ip); res != 0)
    return res;
  return static_cast<int>(port) - static_cast<int>(other.port);
}

std::string to_string(const endpoint& x) {
  return x.to_string();
}

std::ostream& operator<<(std::ostream& out, const endpoint& x) {
  return out << x.to_string();
}

// -- contact ------------------------------------------------------------------

expected<contact> contact::parse(std::string_view text) {
  auto protocol = transport_protocol::tcp;
  auto n = scheme_length(text);
  auto sign = text.find('@');
  // A "://" after the '@' is the endpoint's business (and an error there).
  if (n > 0 && (sign == npos || n <= sign)) {
    auto scheme = parse_scheme(text.substr(0, n), 0);
    if (!scheme)
      return scheme.error();
    protocol = *scheme;
  } else {
    n = 0;
  }
  if (sign == npos)
    return bad("missing '@' between the peer id and the address (expected "
               "PEERID@ip:port)");
  auto id = peer_id::parse(text.substr(n, sign - n));
  if (!id) {
    auto why = id.error().detail;
    if (n > 0)
      why += " (counted from the peer id, which starts " + at(n) + ")";
    return failure{errc::bad_peer_id, "before the '@': " + why};
  }
  if (id->is_zero())
    return failure{errc::bad_peer_id, "the all-zero peer id names no node"};
  auto rest = text.substr(sign + 1);
  if (auto m = scheme_length(rest); m > 0)
    return bad("transport " + quoted(rest.substr(0, m)) + " " + at(sign + 1)
               + " must come first, as in " + std::string{rest.substr(0, m)}
               + "PEERID@ip:port");
  auto ep = parse_address_and_port(rest, sign + 1, protocol);
  if (!ep)
    return ep.error();
  return contact{*id, *ep};
}

std::string contact::to_string() const {
  std::string out;
  if (addr.protocol == transport_protocol::udp)
    out = "udp://";
  out += id.to_hex();
  out += '@';
  auto ep = addr;
  ep.protocol = transport_protocol::tcp; // the scheme is already written
  out += ep.to_string();
  return out;
}

std::string to_string(const contact& x) {
  return x.to_string();
}

std::ostream& operator<<(std::ostream& out, const contact& x) {
  return out << x.to_string();
}

} // namespace crust
