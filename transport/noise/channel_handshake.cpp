#include "crust/transport/noise/channel_handshake.hpp"

#include "crust/messages/hex.hpp"

#include <algorithm>
#include <string_view>
#include <utility>

namespace crust::noise {

namespace {

constexpr std::string_view prologue_label = "crust";

/// Message 1 carries the network-name hash and zero padding up to the size
/// of message 2, so a responder never answers with more than it received.
constexpr size_t first_payload_len = 64;

/// Longest refusal text; refusals are hints, not reports.
constexpr size_t max_refusal_text = 200;

std::string hex(const uint8_t* data, size_t size) {
  return hex::encode(data, size);
}

std::string hex(const key32& key) {
  return hex(key.data(), key.size());
}

std::string_view cipher_name(cipher_kind x) noexcept {
  return x == cipher_kind::aes_gcm ? "AESGCM" : "ChaChaPoly";
}

std::string_view hash_name(hash_kind x) noexcept {
  return x == hash_kind::blake2s ? "BLAKE2s" : "SHA256";
}

/// Peer-supplied text goes into our logs: keep printable ASCII only.
std::string sanitize(const_byte_span text) {
  std::string out;
  for (auto c : text.subspan(0, max_refusal_text))
    out += (c >= 0x20 && c < 0x7F) ? static_cast<char>(c) : '?';
  return out;
}

key32 network_hash(const std::string& name) {
  return hash(hash_kind::sha256,
              const_byte_span{reinterpret_cast<const uint8_t*>(name.data()),
                              name.size()});
}

struct envelope_header {
  uint8_t version;
  envelope_kind kind;
  size_t length;
};

} // namespace

struct channel_handshake::impl {
  channel_config cfg;
  handshake_state hs;
  key32 net_hash{};
  /// Peer messages read so far.
  int received = 0;
  bool started = false;
  bool finished = false;
  status err;
  /// Partial envelope (stream mode).
  byte_buffer in;
  /// The peer's last accepted envelope and our answer to it (datagrams).
  byte_buffer last_in;
  byte_buffer last_reply;
  /// Our last envelope of any kind.
  byte_buffer last_out;
  std::optional<key32> remote;

  impl(channel_config c, handshake_state h, const key32& nh)
    : cfg(std::move(c)), hs(std::move(h)), net_hash(nh) {
    // nop
  }

  /// Number (1 to 3) of the XX message this side writes next.
  int next_written() const noexcept {
    return cfg.side == role::responder ? 2 : (received == 0 ? 1 : 3);
  }

  bool awaiting_input() const noexcept {
    return err && !finished && !hs.is_complete() && !hs.is_my_turn()
           && (cfg.side == role::responder || started);
  }

  status fail(status e) {
    err = std::move(e);
    in.clear();
    return err;
  }

  /// Fails with `e` and leaves a refusal envelope in `out` for the peer.
  /// Refusals travel in cleartext, so `text` must not carry what the
  /// handshake keeps secret (static keys) or what a prober should not learn
  /// (our network name); the full story stays in `e`.
  status refuse(refusal_reason reason, status e, std::string_view text,
                byte_buffer& out) {
    text = text.substr(0, max_refusal_text);
    auto len = 1 + text.size();
    uint8_t header[envelope_header_len + 1]
      = {protocol_version, static_cast<uint8_t>(envelope_kind::refusal),
         static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len),
         static_cast<uint8_t>(reason)};
    out.insert(out.end(), header, header + sizeof(header));
    out.insert(out.end(), text.begin(), text.end());
    return fail(std::move(e));
  }

  /// Datagram sources can be spoofed, so a refusal (appended to `out` from
  /// `mark` on) never exceeds the datagram that caused it: the text is cut,
  /// and a refusal that cannot fit even without text is not sent at all.
  void fit_refusal(size_t datagram_size, size_t mark, byte_buffer& out) {
    auto sent = out.size() - mark;
    if (sent <= datagram_size)
      return;
    if (datagram_size < envelope_header_len + 1) {
      out.resize(mark);
      return;
    }
    auto len = datagram_size - envelope_header_len;
    out[mark + 2] = static_cast<uint8_t>(len >> 8);
    out[mark + 3] = static_cast<uint8_t>(len);
    out.resize(mark + datagram_size);
  }

  /// Writes the next Noise message with `payload` in an envelope.
  status write(const_byte_span payload, byte_buffer& out) {
    byte_buffer env{protocol_version,
                    static_cast<uint8_t>(envelope_kind::handshake), 0, 0};
    if (auto res = hs.write_message(payload, env); !res)
      return fail({res.code(), "writing handshake message "
                                 + std::to_string(next_written()) + ": "
                                 + res.error().detail});
    auto len = env.size() - envelope_header_len;
    if (len > max_envelope_body)
      return fail({errc::malformed_message, "own handshake message too large"});
    env[2] = static_cast<uint8_t>(len >> 8);
    env[3] = static_cast<uint8_t>(len);
    out.insert(out.end(), env.begin(), env.end());
    last_out = std::move(env);
    return {};
  }

  /// Checks an envelope header as soon as its 4 bytes are known, so junk is
  /// refused before its body is buffered.
  status check_header(const uint8_t* p, envelope_header& hdr,
                      byte_buffer& out) {
    hdr.version = p[0];
    hdr.kind = static_cast<envelope_kind>(p[1]);
    hdr.length = (size_t{p[2]} << 8) | p[3];
    // Refusals keep their layout in every version, so they are always read.
    if (hdr.kind != envelope_kind::refusal && hdr.version != protocol_version) {
      auto why = "received protocol version " + std::to_string(hdr.version)
                 + ", this node speaks version "
                 + std::to_string(protocol_version);
      return refuse(refusal_reason::unknown_version,
                    {errc::unknown_version, why}, why, out);
    }
    if (hdr.kind != envelope_kind::refusal
        && hdr.kind != envelope_kind::handshake)
      return fail({errc::malformed_message,
                   "unknown envelope kind " + std::to_string(p[1])});
    if (hdr.length == 0 || hdr.length > max_envelope_body)
      return fail({errc::malformed_message,
                   "envelope body of " + std::to_string(hdr.length)
                     + " bytes (allowed: 1 to "
                     + std::to_string(max_envelope_body) + ")"});
    return {};
  }

  status on_refusal(const envelope_header& hdr, const_byte_span body) {
    auto reason = static_cast<refusal_reason>(body[0]);
    auto text = sanitize(body.subspan(1));
    auto said = text.empty() ? std::string{} : " (peer says: \"" + text + "\")";
    switch (reason) {
      case refusal_reason::unknown_version:
        return fail({errc::unknown_version,
                     "the peer refused the handshake: it speaks protocol "
                     "version "
                       + std::to_string(hdr.version)
                       + " and does not accept our version "
                       + std::to_string(protocol_version) + said});
      case refusal_reason::network_mismatch:
        return fail({errc::network_mismatch,
                     "the peer refused the handshake: it belongs to a "
                     "different network than \""
                       + cfg.network_name + "\"" + said});
      case refusal_reason::unexpected_peer:
        return fail({errc::peer_refused,
                     "the peer refused the handshake: our static key is not "
                     "the peer id it dialled"
                       + said});
      case refusal_reason::banned:
        return fail(
          {errc::banned,
           "the peer refused the handshake: our address is banned" + said});
      case refusal_reason::not_whitelisted:
        return fail({errc::not_whitelisted,
                     "the peer refused the handshake: our address is not on "
                     "its whitelist"
                       + said});
      default:
        return fail(
          {errc::peer_refused, "the peer refused the handshake (reason "
                                 + std::to_string(body[0]) + ")" + said});
    }
  }

  status check_remote(byte_buffer& out) {
    const auto& rs = hs.remote_static();
    if (!rs)
      return fail({errc::handshake_state, "peer static key missing"});
    if (cfg.expected_remote && *cfg.expected_remote != *rs)
      return refuse(refusal_reason::unexpected_peer,
                    {errc::peer_id_mismatch,
                     "expected peer id " + hex(*cfg.expected_remote)
                       + " but the peer's static key is " + hex(*rs)},
                    "static key is not the expected peer id", out);
    remote = *rs;
    return {};
  }

  /// The configured refusal, sent instead of reading message 1.
  status refuse_as_configured(byte_buffer& out) {
    const auto& r = *cfg.refusal;
    auto code = r.reason == refusal_reason::banned ? errc::banned
                : r.reason == refusal_reason::not_whitelisted
                  ? errc::not_whitelisted
                  : errc::peer_refused;
    auto detail = "refused the initiator (reason "
                  + std::to_string(static_cast<unsigned>(r.reason)) + ")";
    if (!r.text.empty())
      detail += ": " + r.text;
    return refuse(r.reason, {code, std::move(detail)}, r.text, out);
  }

  /// Processes one complete envelope whose header passed `check_header`.
  status on_envelope(const envelope_header& hdr, const_byte_span body,
                     byte_buffer& out) {
    if (hdr.kind == envelope_kind::refusal)
      return on_refusal(hdr, body);
    if (cfg.refusal && received == 0)
      return refuse_as_configured(out);
    auto index = cfg.side == role::initiator ? 2 : (received == 0 ? 1 : 3);
    auto what = "handshake message " + std::to_string(index);
    byte_buffer payload;
    if (auto res = hs.read_message(body, payload); !res) {
      auto detail = what + ": " + res.error().detail;
      if (index == 2 && res.code() == errc::decrypt_failed)
        detail += " (tampered with, or the peer runs another suite)";
      return fail({res.code(), std::move(detail)});
    }
    ++received;
    if (index == 1) {
      // Exactly the padded size: the padding is what keeps our reply no
      // larger than the request (no amplification towards spoofed sources).
      if (payload.size() != first_payload_len)
        return fail({errc::malformed_message,
                     what + ": payload of " + std::to_string(payload.size())
                       + " bytes, expected the network-name hash and padding ("
                       + std::to_string(first_payload_len) + " bytes)"});
      if (!std::equal(net_hash.begin(), net_hash.end(), payload.begin()))
        return refuse(refusal_reason::network_mismatch,
                      {errc::network_mismatch,
                       "the initiator's network-name hash "
                         + hex(payload.data(), 8) + "... differs from ours "
                         + hex(net_hash.data(), 8) + "... (network \""
                         + cfg.network_name + "\")"},
                      "network-name hash differs", out);
      auto mark = out.size();
      if (auto res = write({}, out); !res)
        return res;
      last_reply.assign(out.begin() + static_cast<ptrdiff_t>(mark), out.end());
      return {};
    }
    if (!payload.empty())
      return fail({errc::malformed_message, what + ": unexpected payload"});
    if (auto res = check_remote(out); !res)
      return res;
    if (index == 2) {
      auto mark = out.size();
      if (auto res = write({}, out); !res)
        return res;
      last_reply.assign(out.begin() + static_cast<ptrdiff_t>(mark), out.end());
    } else {
      last_reply.clear();
    }
    return {};
  }
};

channel_handshake::channel_handshake(std::unique_ptr<impl> ptr) noexcept
  : impl_(std::move(ptr)) {
  // nop
}

channel_handshake::channel_handshake(channel_handshake&&) noexcept = default;

channel_handshake&
channel_handshake::operator=(channel_handshake&&) noexcept = default;

channel_handshake::~channel_handshake() = default;

byte_buffer channel_handshake::make_prologue(uint8_t version,
                                             const std::string& network_name) {
  byte_buffer out(prologue_label.begin(), prologue_label.end());
  out.push_back(version);
  auto nh = network_hash(network_name);
  out.insert(out.end(), nh.begin(), nh.end());
  return out;
}

expected<channel_handshake> channel_handshake::create(channel_config cfg) {
  auto zero = key32{};
  if (cfg.local_static.pub == zero)
    return {errc::invalid_config, "channel_config.local_static is not set"};
  if (cfg.refusal && cfg.side != role::responder)
    return {errc::invalid_config,
            "channel_config.refusal is for responders only"};
  handshake_config hc;
  hc.protocol_name = "Noise_XX_25519_";
  hc.protocol_name += cipher_name(cfg.algorithms.cipher);
  hc.protocol_name += '_';
  hc.protocol_name += hash_name(cfg.algorithms.hash);
  hc.side = cfg.side;
  hc.prologue = make_prologue(protocol_version, cfg.network_name);
  hc.local_static = cfg.local_static;
  hc.ephemeral_source = cfg.ephemeral_source;
  auto hs = handshake_state::create(std::move(hc));
  if (!hs)
    return hs.error();
  auto nh = network_hash(cfg.network_name);
  return channel_handshake{
    std::make_unique<impl>(std::move(cfg), std::move(*hs), nh)};
}

status channel_handshake::start(byte_buffer& out) {
  auto& d = *impl_;
  if (!d.err)
    return d.err;
  if (d.cfg.side != role::initiator || d.started)
    return {errc::handshake_state, "start() is for a fresh initiator only"};
  d.started = true;
  uint8_t payload[first_payload_len] = {};
  std::copy(d.net_hash.begin(), d.net_hash.end(), payload);
  return d.write(const_byte_span{payload, sizeof(payload)}, out);
}

expected<size_t> channel_handshake::on_bytes(const_byte_span bytes,
                                             byte_buffer& out) {
  auto& d = *impl_;
  if (!d.err)
    return d.err.error();
  size_t consumed = 0;
  // Bytes behind an envelope we have not answered yet cannot be the peer's
  // next message: it has not seen our reply.
  bool replied = false;
  while (consumed < bytes.size() && !done()) {
    if (!d.awaiting_input() || replied)
      return d
        .fail({errc::handshake_state, "peer sent handshake data out of turn"})
        .error();
    auto rest = bytes.subspan(consumed);
    // Header first, then exactly the body it announces.
    if (d.in.size() < envelope_header_len) {
      auto take = std::min(envelope_header_len - d.in.size(), rest.size());
      d.in.insert(d.in.end(), rest.begin(), rest.begin() + take);
      consumed += take;
      if (d.in.size() < envelope_header_len)
        break;
      envelope_header hdr{};
      if (auto res = d.check_header(d.in.data(), hdr, out); !res)
        return res.error();
      d.in.reserve(envelope_header_len + hdr.length);
      rest = bytes.subspan(consumed);
    }
    envelope_header hdr{};
    if (auto res = d.check_header(d.in.data(), hdr, out); !res)
      return res.error();
    auto need = envelope_header_len + hdr.length;
    auto take = std::min(need - d.in.size(), rest.size());
    d.in.insert(d.in.end(), rest.begin(), rest.begin() + take);
    consumed += take;
    if (d.in.size() < need)
      break;
    auto env = std::move(d.in);
    d.in.clear();
    auto before = out.size();
    auto res = d.on_envelope(hdr, const_byte_span{env}.subspan(4), out);
    if (!res)
      return res.error();
    replied = out.size() != before;
  }
  return consumed;
}

status channel_handshake::on_datagram(const_byte_span datagram,
                                      byte_buffer& out) {
  auto& d = *impl_;
  if (!d.err)
    return d.err;
  if (!d.last_in.empty() && datagram == const_byte_span{d.last_in}) {
    // A retransmission: our answer was probably lost.
    out.insert(out.end(), d.last_reply.begin(), d.last_reply.end());
    return {};
  }
  if (!d.awaiting_input())
    return d.fail(
      {errc::handshake_state, "peer sent a handshake datagram out of turn"});
  auto mark = out.size();
  if (datagram.size() < envelope_header_len)
    return d.fail(
      {errc::malformed_message, "datagram of " + std::to_string(datagram.size())
                                  + " bytes cannot hold an envelope header"});
  envelope_header hdr{};
  if (auto res = d.check_header(datagram.data(), hdr, out); !res) {
    d.fit_refusal(datagram.size(), mark, out);
    return res;
  }
  if (envelope_header_len + hdr.length != datagram.size())
    return d.fail({errc::malformed_message,
                   "envelope announces " + std::to_string(hdr.length)
                     + " body bytes but the datagram carries "
                     + std::to_string(datagram.size() - envelope_header_len)});
  if (auto res = d.on_envelope(hdr, datagram.subspan(4), out); !res) {
    d.fit_refusal(datagram.size(), mark, out);
    return res;
  }
  d.last_in = datagram.to_buffer();
  return {};
}

bool channel_handshake::done() const noexcept {
  return impl_->err && impl_->hs.is_complete() && impl_->remote.has_value();
}

bool channel_handshake::failed() const noexcept {
  return !impl_->err;
}

const failure& channel_handshake::error() const noexcept {
  return impl_->err.error();
}

std::optional<key32> channel_handshake::remote_static() const {
  return impl_->remote;
}

const byte_buffer& channel_handshake::last_envelope() const noexcept {
  return impl_->last_out;
}

expected<channel_result> channel_handshake::finish() {
  auto& d = *impl_;
  if (!d.err)
    return d.err.error();
  if (d.finished)
    return {errc::handshake_state, "the handshake was already finished"};
  if (!done())
    return {errc::handshake_incomplete,
            "finish() before the handshake completed"};
  auto keys = d.hs.split();
  if (!keys)
    return d.fail(keys.error()).error();
  d.finished = true;
  return channel_result{*d.remote, std::move(*keys)};
}

} // namespace crust::noise
