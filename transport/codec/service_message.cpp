#include "crust/transport/codec/service_message.hpp"

#include "crust/transport/codec/endpoint.hpp"

#include <algorithm>
#include <string_view>

namespace crust::codec {

namespace {

// -- writing
// -------------------------------------------------------------------

byte_buffer start_body() {
  return byte_buffer{service_message_version};
}

void put_u64(byte_buffer& out, uint64_t x) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<uint8_t>(x >> shift));
}

void put_string(byte_buffer& out, std::string_view text) {
  text = text.substr(0, 255);
  out.push_back(static_cast<uint8_t>(text.size()));
  out.insert(out.end(), text.begin(), text.end());
}

void put_endpoints(byte_buffer& out, const std::vector<std::string>& xs) {
  auto n = std::min(xs.size(), max_service_endpoints);
  out.push_back(static_cast<uint8_t>(n));
  for (size_t i = 0; i < n; ++i)
    put_string(out, xs[i]);
}

// -- reading
// -------------------------------------------------------------------

/// Reads fields front to back; the first problem sticks.
class body_reader {
public:
  body_reader(const_byte_span in, const char* what) : in_(in), what_(what) {
    if (in_.empty()) {
      fail("empty body");
    } else if (in_[0] != service_message_version) {
      err_ = status{errc::unknown_version, std::string{what_} + ": version "
                                             + std::to_string(int{in_[0]})};
    } else {
      pos_ = 1;
    }
  }

  uint8_t u8() {
    if (!need(1))
      return 0;
    return in_[pos_++];
  }

  uint64_t u64() {
    if (!need(8))
      return 0;
    uint64_t x = 0;
    for (int i = 0; i < 8; ++i)
      x = (x << 8) | in_[pos_++];
    return x;
  }

  std::string string() {
    auto n = u8();
    if (!need(n))
      return {};
    std::string out{reinterpret_cast<const char*>(in_.data() + pos_), n};
    pos_ += n;
    return out;
  }

  /// An endpoint text that parses.
  std::string endpoint_text() {
    auto text = string();
    if (err_ && !endpoint::parse(text))
      fail("bad endpoint text");
    return text;
  }

  std::vector<std::string> endpoints() {
    auto n = u8();
    if (n > max_service_endpoints)
      fail(std::to_string(n) + " endpoints, at most "
           + std::to_string(max_service_endpoints));
    std::vector<std::string> out;
    for (size_t i = 0; i < n && err_; ++i)
      out.push_back(endpoint_text());
    return out;
  }

  peer_id peer() {
    peer_id::bytes_type bytes{};
    if (!need(bytes.size()))
      return {};
    std::copy_n(in_.data() + pos_, bytes.size(), bytes.begin());
    pos_ += bytes.size();
    peer_id out{bytes};
    if (out.is_zero())
      fail("zero peer id");
    return out;
  }

  void fail(const std::string& why) {
    if (err_)
      err_ = status{errc::malformed_message, std::string{what_} + ": " + why};
  }

  bool ok() const noexcept {
    return static_cast<bool>(err_);
  }

  /// The outcome; a byte left over is malformed.
  status finish() {
    if (err_ && pos_ != in_.size())
      fail(std::to_string(in_.size() - pos_) + " trailing bytes");
    return err_;
  }

private:
  bool need(size_t n) {
    if (!err_)
      return false;
    if (in_.size() - pos_ < n) {
      fail("truncated");
      return false;
    }
    return true;
  }

  const_byte_span in_;
  const char* what_;
  size_t pos_ = 0;
  status err_;
};

bool deny_reason_known(errc x) {
  switch (x) {
    case errc::network_mismatch:
    case errc::not_whitelisted:
    case errc::not_reachable:
    case errc::not_accepting:
    case errc::banned:
    case errc::shutting_down: return true;
    default: return false;
  }
}

} // namespace

// -- encoders
// ------------------------------------------------------------------

byte_buffer encode(const bootstrap_request_body& x) {
  auto out = start_body();
  out.push_back(static_cast<uint8_t>(x.role));
  put_endpoints(out, x.endpoints);
  return out;
}

byte_buffer encode(const bootstrap_deny_body& x) {
  auto out = start_body();
  out.push_back(static_cast<uint8_t>(x.reason));
  put_string(out, std::string_view{x.text}.substr(0, max_deny_text));
  return out;
}

byte_buffer encode(const echo_request_body& x) {
  auto out = start_body();
  put_u64(out, x.nonce);
  return out;
}

byte_buffer encode(const echo_reply_body& x) {
  auto out = start_body();
  put_u64(out, x.nonce);
  put_string(out, x.observed);
  return out;
}

byte_buffer encode(const gossip_body& x) {
  auto out = start_body();
  auto n = std::min(x.contacts.size(), max_gossip_contacts);
  out.push_back(static_cast<uint8_t>(n));
  for (size_t i = 0; i < n; ++i) {
    const auto& bytes = x.contacts[i].peer.bytes();
    out.insert(out.end(), bytes.begin(), bytes.end());
    put_endpoints(out, x.contacts[i].endpoints);
  }
  return out;
}

byte_buffer encode_empty() {
  return start_body();
}

// -- decoders
// ------------------------------------------------------------------

expected<bootstrap_request_body> decode_bootstrap_request(const_byte_span in) {
  body_reader r{in, "bootstrap request"};
  bootstrap_request_body out;
  auto role = r.u8();
  if (role != static_cast<uint8_t>(bootstrap_role::node)
      && role != static_cast<uint8_t>(bootstrap_role::client))
    r.fail("unknown role " + std::to_string(int{role}));
  out.role = static_cast<bootstrap_role>(role);
  out.endpoints = r.endpoints();
  if (auto st = r.finish(); !st)
    return st.error();
  return out;
}

expected<bootstrap_deny_body> decode_bootstrap_deny(const_byte_span in) {
  body_reader r{in, "bootstrap deny"};
  bootstrap_deny_body out;
  out.reason = static_cast<errc>(r.u8());
  if (!deny_reason_known(out.reason))
    r.fail("unknown deny reason");
  out.text = r.string();
  if (auto st = r.finish(); !st)
    return st.error();
  return out;
}

expected<echo_request_body> decode_echo_request(const_byte_span in) {
  body_reader r{in, "echo request"};
  echo_request_body out;
  out.nonce = r.u64();
  if (auto st = r.finish(); !st)
    return st.error();
  return out;
}

expected<echo_reply_body> decode_echo_reply(const_byte_span in) {
  body_reader r{in, "echo reply"};
  echo_reply_body out;
  out.nonce = r.u64();
  out.observed = r.endpoint_text();
  if (auto st = r.finish(); !st)
    return st.error();
  return out;
}

expected<gossip_body> decode_gossip(const_byte_span in) {
  body_reader r{in, "gossip"};
  gossip_body out;
  auto n = r.u8();
  if (n > max_gossip_contacts)
    r.fail(std::to_string(n) + " contacts, at most "
           + std::to_string(max_gossip_contacts));
  for (size_t i = 0; i < n; ++i) {
    gossip_contact c;
    c.peer = r.peer();
    c.endpoints = r.endpoints();
    if (!r.ok())
      break;
    out.contacts.push_back(std::move(c));
  }
  if (auto st = r.finish(); !st)
    return st.error();
  return out;
}

status decode_empty(const_byte_span in) {
  body_reader r{in, "service message"};
  return r.finish();
}

} // namespace crust::codec
