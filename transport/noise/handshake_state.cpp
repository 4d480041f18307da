#include "crust/transport/noise/handshake_state.hpp"

#include "crust/transport/noise/handshake_pattern.hpp"
#include "crust/transport/noise/symmetric_state.hpp"

#include <string_view>
#include <utility>

namespace crust::noise {

namespace {

struct parsed_name {
  suite algorithms;
  handshake_pattern pattern;
};

/// Parses "Noise_<pattern>_25519_<cipher>_<hash>".
expected<parsed_name> parse_protocol_name(std::string_view name) {
  auto unsupported = [name](std::string why) {
    return failure{errc::unsupported_protocol,
                   "\"" + std::string{name} + "\": " + std::move(why)};
  };
  std::string_view parts[5];
  size_t count = 0;
  std::string_view rest = name;
  for (;;) {
    auto pos = rest.find('_');
    if (count == 5)
      return unsupported("too many '_'-separated parts");
    parts[count++] = rest.substr(0, pos);
    if (pos == std::string_view::npos)
      break;
    rest.remove_prefix(pos + 1);
  }
  if (count != 5 || parts[0] != "Noise")
    return unsupported("expected Noise_<pattern>_25519_<cipher>_<hash>");
  if (parts[2] != "25519")
    return unsupported("DH function must be 25519");
  parsed_name result;
  if (parts[3] == "ChaChaPoly")
    result.algorithms.cipher = cipher_kind::chacha_poly;
  else if (parts[3] == "AESGCM")
    result.algorithms.cipher = cipher_kind::aes_gcm;
  else
    return unsupported("cipher must be ChaChaPoly or AESGCM");
  if (parts[4] == "SHA256")
    result.algorithms.hash = hash_kind::sha256;
  else if (parts[4] == "BLAKE2s")
    result.algorithms.hash = hash_kind::blake2s;
  else
    return unsupported("hash must be SHA256 or BLAKE2s");
  auto pattern = make_pattern(parts[1]);
  if (!pattern)
    return unsupported(pattern.error().detail);
  result.pattern = std::move(*pattern);
  return result;
}

const char* side_name(bool initiator) {
  return initiator ? "initiator" : "responder";
}

} // namespace

// -- state --------------------------------------------------------------------

struct handshake_state::impl {
  impl(const std::string& name, role r, suite algorithms, handshake_pattern p)
    : side(r), algs(algorithms), pattern(std::move(p)),
      symmetric(algorithms, name) {
    // nop
  }

  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  ~impl() {
    for (auto& psk : psks)
      secure_wipe(psk.data(), psk.size());
    // s and e wipe their private halves; symmetric wipes ck and k.
  }

  bool initiator() const noexcept {
    return side == role::initiator;
  }

  bool complete() const noexcept {
    return next_message == pattern.messages.size();
  }

  bool my_turn() const noexcept {
    return !failed && !spent && !complete()
           && (next_message % 2 == 0) == initiator();
  }

  /// Why a write (or read) is not allowed now, or success.
  status check_turn(bool writing) const {
    if (failed)
      return failure{errc::handshake_state,
                     "an earlier handshake step failed; start a new one"};
    if (spent)
      return failure{errc::handshake_state, "split() was already called"};
    if (complete())
      return failure{errc::handshake_state, "the handshake is complete"};
    if (my_turn() != writing)
      return failure{errc::handshake_state,
                     writing ? "it is the peer's turn to write"
                             : "it is this side's turn to write"};
    return {};
  }

  /// MixKey(DH(...)) for a DH token, picking the keys by role (spec 5.3).
  status mix_dh(token t) {
    const keypair* local = nullptr;
    const std::optional<key32>* remote = nullptr;
    switch (t) {
      case token::ee:
        local = e ? &*e : nullptr;
        remote = &re;
        break;
      case token::es:
        local = initiator() ? (e ? &*e : nullptr) : (s ? &*s : nullptr);
        remote = initiator() ? &rs : &re;
        break;
      case token::se:
        local = initiator() ? (s ? &*s : nullptr) : (e ? &*e : nullptr);
        remote = initiator() ? &re : &rs;
        break;
      default: // ss
        local = s ? &*s : nullptr;
        remote = &rs;
    }
    if (local == nullptr || !*remote)
      return failure{errc::handshake_state, "a key for token "
                                              + std::string{to_string(t)}
                                              + " is missing"};
    auto shared = dh(*local, **remote);
    if (!shared)
      return shared.error();
    symmetric.mix_key(*shared);
    secure_wipe(shared->data(), shared->size());
    return {};
  }

  status write_tokens(const_byte_span payload, byte_buffer& msg) {
    if (payload.size() > max_message_len)
      return failure{errc::message_too_large,
                     "handshake payload exceeds 65535 bytes"};
    for (auto t : pattern.messages[next_message]) {
      switch (t) {
        case token::e: {
          if (e)
            return failure{errc::handshake_state, "ephemeral key already set"};
          auto kp = ephemeral_source ? ephemeral_source() : keypair::generate();
          if (!kp)
            return kp.error();
          e = std::move(*kp);
          msg.insert(msg.end(), e->pub.begin(), e->pub.end());
          symmetric.mix_hash(e->pub);
          if (pattern.has_psk())
            symmetric.mix_key(e->pub);
          break;
        }
        case token::s:
          if (!s)
            return failure{errc::invalid_config, "no local static key"};
          if (auto st = symmetric.encrypt_and_hash(s->pub, msg); !st)
            return st;
          break;
        case token::psk: symmetric.mix_key_and_hash(psks[next_psk++]); break;
        default:
          if (auto st = mix_dh(t); !st)
            return st;
      }
    }
    if (auto st = symmetric.encrypt_and_hash(payload, msg); !st)
      return st;
    if (msg.size() > max_message_len)
      return failure{errc::message_too_large, "handshake message would be "
                                                + std::to_string(msg.size())
                                                + " bytes; the limit is 65535"};
    return {};
  }

  status read_tokens(const_byte_span message, byte_buffer& payload) {
    auto truncated = [this](std::string_view what, size_t need, size_t got) {
      return failure{errc::malformed_message,
                     "handshake message " + std::to_string(next_message + 1)
                       + " truncated: " + std::string{what} + " needs "
                       + std::to_string(need) + " bytes, " + std::to_string(got)
                       + " left"};
    };
    if (message.size() > max_message_len)
      return failure{errc::message_too_large, "handshake message of "
                                                + std::to_string(message.size())
                                                + " bytes exceeds 65535"};
    size_t pos = 0;
    for (auto t : pattern.messages[next_message]) {
      auto rest = message.subspan(pos);
      switch (t) {
        case token::e: {
          if (rest.size() < dh_len)
            return truncated("ephemeral key", dh_len, rest.size());
          if (re)
            return failure{errc::handshake_state,
                           "remote ephemeral key already set"};
          key32 key;
          std::copy(rest.begin(), rest.begin() + dh_len, key.begin());
          re = key;
          symmetric.mix_hash(key);
          if (pattern.has_psk())
            symmetric.mix_key(key);
          pos += dh_len;
          break;
        }
        case token::s: {
          auto len = dh_len + (symmetric.has_key() ? tag_len : 0);
          if (rest.size() < len)
            return truncated("static key", len, rest.size());
          if (rs)
            return failure{errc::handshake_state,
                           "remote static key already set"};
          byte_buffer key;
          if (auto st = symmetric.decrypt_and_hash(rest.subspan(0, len), key);
              !st)
            return failure{st.code(),
                           "peer's static key: " + st.error().detail};
          key32 k;
          std::copy(key.begin(), key.end(), k.begin());
          rs = k;
          pos += len;
          break;
        }
        case token::psk: symmetric.mix_key_and_hash(psks[next_psk++]); break;
        default:
          if (auto st = mix_dh(t); !st)
            return st;
      }
    }
    auto rest = message.subspan(pos);
    if (symmetric.has_key() && rest.size() < tag_len)
      return truncated("payload tag", tag_len, rest.size());
    byte_buffer plain;
    if (auto st = symmetric.decrypt_and_hash(rest, plain); !st)
      return failure{st.code(), "handshake payload: " + st.error().detail};
    payload.insert(payload.end(), plain.begin(), plain.end());
    secure_wipe(plain.data(), plain.size());
    return {};
  }

  /// Forgets everything secret once the handshake is over or broken.
  void wipe_secrets() noexcept {
    e.reset();
    s.reset();
    for (auto& psk : psks)
      secure_wipe(psk.data(), psk.size());
    symmetric.wipe();
  }

  role side;
  suite algs;
  handshake_pattern pattern;
  symmetric_state symmetric;
  std::optional<keypair> s;
  std::optional<keypair> e;
  std::optional<key32> rs;
  std::optional<key32> re;
  std::vector<key32> psks;
  size_t next_psk = 0;
  size_t next_message = 0;
  bool failed = false;
  bool spent = false;
  std::function<expected<keypair>()> ephemeral_source;
};

// -- construction -------------------------------------------------------------

handshake_state::handshake_state(std::unique_ptr<impl> ptr) noexcept
  : impl_(std::move(ptr)) {
  // nop
}

handshake_state::handshake_state(handshake_state&&) noexcept = default;

handshake_state&
handshake_state::operator=(handshake_state&&) noexcept = default;

handshake_state::~handshake_state() = default;

expected<handshake_state> handshake_state::create(handshake_config cfg) {
  auto parsed = parse_protocol_name(cfg.protocol_name);
  if (!parsed)
    return parsed.error();
  const auto& pattern = parsed->pattern;
  bool initiator = cfg.side == role::initiator;
  auto invalid = [&](const std::string& what) {
    return failure{errc::invalid_config, cfg.protocol_name + " ("
                                           + side_name(initiator)
                                           + "): " + what};
  };
  bool needs_local_static = pattern.needs_local_static(initiator);
  if (needs_local_static) {
    if (!cfg.local_static)
      return invalid("the pattern needs this side's static key "
                     "(local_static)");
    // A pair whose halves do not match would fail late and obscurely; a
    // pair straight from generate() or from_private() is known to match.
    if (!cfg.local_static->is_consistent()) {
      auto check = keypair::from_private(cfg.local_static->priv);
      if (!check)
        return check.error();
      if (check->pub != cfg.local_static->pub)
        return invalid("local_static.pub does not belong to local_static.priv");
    }
  }
  if (pattern.needs_remote_static(initiator)) {
    if (!cfg.remote_static)
      return invalid("the pattern needs the peer's static public key in "
                     "advance (remote_static)");
  } else if (cfg.remote_static) {
    // Refused rather than ignored: a caller setting it may believe it is
    // checked. Compare remote_static() after the handshake instead.
    return invalid(pattern.transmits_remote_static(initiator)
                     ? "the peer sends its static key in this pattern; "
                       "leave remote_static empty and compare "
                       "remote_static() after the handshake"
                     : "the pattern does not use the peer's static key");
  }
  auto psk_count = pattern.psk_count();
  if (cfg.psks.size() != psk_count)
    return invalid("the pattern takes " + std::to_string(psk_count)
                   + " PSK(s), the configuration has "
                   + std::to_string(cfg.psks.size()));
  auto st = std::make_unique<impl>(cfg.protocol_name, cfg.side,
                                   parsed->algorithms,
                                   std::move(parsed->pattern));
  // `pattern` was moved from: use the copy in `st` from here on.
  if (needs_local_static)
    st->s = cfg.local_static;
  st->rs = cfg.remote_static;
  st->psks = std::move(cfg.psks);
  st->ephemeral_source = std::move(cfg.ephemeral_source);
  // Initialize() (spec 5.3): prologue, then the pre-message keys, the
  // initiator's first.
  st->symmetric.mix_hash(cfg.prologue);
  const auto& p = st->pattern;
  for (auto [tokens, theirs] : {std::pair{&p.initiator_pre, !initiator},
                                std::pair{&p.responder_pre, initiator}}) {
    for (auto t : *tokens) {
      // Only `s` appears in the pre-messages of the table's patterns.
      if (t != token::s)
        return failure{errc::unsupported_protocol,
                       cfg.protocol_name + ": pre-message token "
                         + std::string{to_string(t)} + " not supported"};
      st->symmetric.mix_hash(theirs ? *st->rs : st->s->pub);
    }
  }
  return handshake_state{std::move(st)};
}

// -- queries ------------------------------------------------------------------

bool handshake_state::is_my_turn() const noexcept {
  return impl_ && impl_->my_turn();
}

bool handshake_state::is_complete() const noexcept {
  return impl_ && !impl_->failed && impl_->complete();
}

const std::optional<key32>& handshake_state::remote_static() const noexcept {
  static const std::optional<key32> none;
  return impl_ ? impl_->rs : none;
}

const key32& handshake_state::handshake_hash() const noexcept {
  static const key32 zeros{};
  return impl_ ? impl_->symmetric.handshake_hash() : zeros;
}

suite handshake_state::algorithms() const noexcept {
  return impl_ ? impl_->algs : suite{};
}

// -- messages -----------------------------------------------------------------

status handshake_state::write_message(const_byte_span payload,
                                      byte_buffer& out) {
  if (!impl_)
    return failure{errc::handshake_state, "moved-from handshake_state"};
  auto& st = *impl_;
  if (auto ok = st.check_turn(true); !ok) {
    st.failed = true;
    st.wipe_secrets();
    return ok;
  }
  // Built apart so that `out` stays untouched on failure.
  byte_buffer msg;
  if (auto ok = st.write_tokens(payload, msg); !ok) {
    st.failed = true;
    st.wipe_secrets();
    return ok;
  }
  out.insert(out.end(), msg.begin(), msg.end());
  ++st.next_message;
  return {};
}

status handshake_state::read_message(const_byte_span message,
                                     byte_buffer& payload_out) {
  if (!impl_)
    return failure{errc::handshake_state, "moved-from handshake_state"};
  auto& st = *impl_;
  if (auto ok = st.check_turn(false); !ok) {
    st.failed = true;
    st.wipe_secrets();
    return ok;
  }
  if (auto ok = st.read_tokens(message, payload_out); !ok) {
    st.failed = true;
    st.wipe_secrets();
    return ok;
  }
  ++st.next_message;
  return {};
}

expected<transport_keys> handshake_state::split() {
  if (!impl_)
    return failure{errc::handshake_state, "moved-from handshake_state"};
  auto& st = *impl_;
  if (st.failed)
    return failure{errc::handshake_state,
                   "an earlier handshake step failed; start a new one"};
  if (st.spent)
    return failure{errc::handshake_state, "split() was already called"};
  if (!st.complete())
    return failure{errc::handshake_incomplete,
                   "split() before the last handshake message"};
  cipher_state c1;
  cipher_state c2;
  st.symmetric.split(c1, c2);
  transport_keys keys;
  // The initiator sends with c1 and the responder with c2 (spec 5.3).
  if (st.initiator()) {
    keys.send = std::move(c1);
    keys.receive = std::move(c2);
  } else {
    keys.send = std::move(c2);
    keys.receive = std::move(c1);
  }
  keys.handshake_hash = st.symmetric.handshake_hash();
  st.spent = true;
  st.wipe_secrets();
  return keys;
}

} // namespace crust::noise
