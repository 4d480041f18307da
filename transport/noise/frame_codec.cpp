#include "crust/transport/noise/frame_codec.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace crust::noise {

namespace {

/// Plaintext bytes of a header: body length, type, value.
constexpr size_t header_plain_len = 7;

/// Tag plus one data byte: the shortest body ciphertext.
constexpr size_t min_body_ciphertext = tag_len + 1;

/// Above this the reassembly buffer is released after each message, so an
/// idle connection does not keep megabytes.
constexpr size_t keep_capacity = size_t{256} * 1024;

frame_codec_config normalize(frame_codec_config cfg) noexcept {
  cfg.max_frame_body = std::clamp(cfg.max_frame_body, size_t{16},
                                  max_message_len - tag_len);
  cfg.max_message_size = std::min(cfg.max_message_size, size_t{UINT32_MAX});
  return cfg;
}

status with_context(const status& res, const char* what) {
  return {res.code(), std::string{what} + ": " + res.error().detail};
}

status malformed(std::string what) {
  return {errc::malformed_message, std::move(what)};
}

} // namespace

// -- frame_encoder ------------------------------------------------------------

frame_encoder::frame_encoder(cipher_state send, frame_codec_config cfg) noexcept
  : send_(std::move(send)), cfg_(normalize(cfg)) {
  // nop
}

status frame_encoder::check_usable() const {
  if (!err_)
    return err_;
  if (closed_)
    return {errc::handshake_state, "the stream was closed by a close frame"};
  return {};
}

size_t frame_encoder::encoded_size(size_t size) const noexcept {
  // The priority byte travels in front of the message's first bytes.
  auto plain = size + 1;
  auto frames = (plain + cfg_.max_frame_body - 1) / cfg_.max_frame_body;
  return frames * (frame_header_len + tag_len) + plain;
}

status frame_encoder::encode_message(const_byte_span msg, uint8_t prio,
                                     byte_buffer& out) {
  if (auto res = check_usable(); !res)
    return res;
  if (msg.size() > cfg_.max_message_size)
    return {errc::message_too_large, "message of " + std::to_string(msg.size())
                                       + " bytes exceeds the maximum of "
                                       + std::to_string(cfg_.max_message_size)};
  auto start = out.size();
  out.reserve(start + encoded_size(msg.size()));
  // The first frame's body is the priority byte and up to B - 1 message
  // bytes, so full first fragments stay B bytes long (64-byte aligned).
  auto chunk = std::min(msg.size(), cfg_.max_frame_body - 1);
  if (auto res = rekey_if_due(out); !res)
    return fail(res, out, start);
  if (auto res = seal_frame(frame_type::message_first,
                            static_cast<uint32_t>(msg.size()),
                            msg.subspan(0, chunk), out, prio);
      !res)
    return fail(res, out, start);
  for (auto pos = chunk; pos < msg.size(); pos += chunk) {
    chunk = std::min(msg.size() - pos, cfg_.max_frame_body);
    if (auto res = rekey_if_due(out); !res)
      return fail(res, out, start);
    if (auto res = seal_frame(frame_type::message_continuation, 0,
                              msg.subspan(pos, chunk), out);
        !res)
      return fail(res, out, start);
  }
  return {};
}

status frame_encoder::encode_control(frame_type type, byte_buffer& out) {
  if (auto res = check_usable(); !res)
    return res;
  auto start = out.size();
  if (auto res = rekey_if_due(out); !res)
    return fail(res, out, start);
  if (auto res = seal_frame(type, 0, {}, out); !res)
    return fail(res, out, start);
  return {};
}

status frame_encoder::encode_keepalive(byte_buffer& out) {
  return encode_control(frame_type::keepalive, out);
}

status frame_encoder::encode_choose(byte_buffer& out) {
  return encode_control(frame_type::choose, out);
}

status frame_encoder::encode_service(uint16_t kind, const_byte_span body,
                                     byte_buffer& out) {
  if (auto res = check_usable(); !res)
    return res;
  if (kind == 0)
    return {errc::malformed_message, "service message kind 0"};
  if (body.size() > max_service_body)
    return {errc::message_too_large,
            "service message of " + std::to_string(body.size())
              + " bytes exceeds " + std::to_string(max_service_body)};
  auto start = out.size();
  out.reserve(start + 2 * frame_header_len + body.size() + tag_len);
  if (auto res = rekey_if_due(out); !res)
    return fail(res, out, start);
  if (auto res = seal_frame(frame_type::service, kind, body, out); !res)
    return fail(res, out, start);
  return {};
}

status frame_encoder::encode_rekey(byte_buffer& out) {
  if (auto res = check_usable(); !res)
    return res;
  auto start = out.size();
  if (auto res = seal_frame(frame_type::rekey, 0, {}, out); !res)
    return fail(res, out, start);
  if (auto res = send_.rekey(); !res)
    return fail(res, out, start);
  since_rekey_ = 0;
  return {};
}

status frame_encoder::encode_close(uint16_t reason, std::string_view text,
                                   byte_buffer& out) {
  if (auto res = check_usable(); !res)
    return res;
  auto start = out.size();
  text = text.substr(0, std::min(max_close_text, cfg_.max_frame_body));
  if (auto res = rekey_if_due(out); !res)
    return fail(res, out, start);
  const_byte_span data{reinterpret_cast<const uint8_t*>(text.data()),
                       text.size()};
  if (auto res = seal_frame(frame_type::close, reason, data, out); !res)
    return fail(res, out, start);
  closed_ = true;
  return {};
}

status frame_encoder::rekey_if_due(byte_buffer& out) {
  if (cfg_.rekey_interval == 0 || since_rekey_ < cfg_.rekey_interval)
    return {};
  if (auto res = seal_frame(frame_type::rekey, 0, {}, out); !res)
    return res;
  if (auto res = send_.rekey(); !res)
    return res;
  since_rekey_ = 0;
  return {};
}

status frame_encoder::seal_frame(frame_type type, uint32_t value,
                                 const_byte_span data, byte_buffer& out,
                                 std::optional<uint8_t> prefix) {
  auto plain_len = data.size() + (prefix ? 1 : 0);
  auto body_len = plain_len == 0 ? size_t{0} : plain_len + tag_len;
  uint8_t header[header_plain_len]
    = {static_cast<uint8_t>(body_len >> 8), static_cast<uint8_t>(body_len),
       static_cast<uint8_t>(type),          static_cast<uint8_t>(value >> 24),
       static_cast<uint8_t>(value >> 16),   static_cast<uint8_t>(value >> 8),
       static_cast<uint8_t>(value)};
  auto pos = out.size();
  // Callers reserved room, so this does not reallocate per frame.
  out.resize(pos + frame_header_len + body_len);
  auto* p = out.data() + pos;
  if (auto res = send_.seal({}, const_byte_span{header, header_plain_len}, p);
      !res)
    return with_context(res, "sealing a frame header");
  if (body_len == 0) {
    ++since_rekey_;
    return {};
  }
  auto* body = p + frame_header_len;
  // The body goes straight from the caller's bytes to the output, the prefix
  // as the head of the same AEAD message: no copy of the payload.
  uint8_t head = prefix.value_or(0);
  const_byte_span head_span{&head, prefix ? size_t{1} : size_t{0}};
  if (auto res = send_.seal({}, head_span, data, body); !res)
    return with_context(res, "sealing a frame body");
  ++since_rekey_;
  return {};
}

status frame_encoder::fail(status err, byte_buffer& out, size_t rollback) {
  // Half-written frames must never reach the wire.
  out.resize(rollback);
  err_ = std::move(err);
  return err_;
}

// -- frame_decoder ------------------------------------------------------------

frame_decoder::frame_decoder(cipher_state receive,
                             frame_codec_config cfg) noexcept
  : receive_(std::move(receive)), cfg_(normalize(cfg)) {
  // nop
}

status frame_decoder::feed_impl(const_byte_span bytes, const sink& s) {
  if (!err_)
    return err_;
  while (!bytes.empty()) {
    if (closed_)
      return fail(malformed("data after a close frame"));
    auto need = body_len_ == 0 ? frame_header_len : body_len_;
    const_byte_span unit;
    bool buffered = false;
    if (in_.empty() && bytes.size() >= need) {
      // Fast path: open straight out of the caller's bytes.
      unit = bytes.subspan(0, need);
      bytes = bytes.subspan(need);
    } else {
      auto take = std::min(need - in_.size(), bytes.size());
      in_.insert(in_.end(), bytes.begin(), bytes.begin() + take);
      bytes = bytes.subspan(take);
      if (in_.size() < need)
        break;
      unit = in_;
      buffered = true;
    }
    auto res = body_len_ == 0 ? on_header(unit, s) : on_body(unit, s);
    if (buffered)
      in_.clear();
    if (!res)
      return fail(std::move(res));
  }
  return {};
}

status frame_decoder::on_header(const_byte_span unit, const sink& s) {
  uint8_t h[header_plain_len];
  if (auto res = receive_.open({}, unit, h); !res)
    return with_context(res, "frame header");
  size_t len = (size_t{h[0]} << 8) | h[1];
  auto type = h[2];
  auto value = (uint32_t{h[3]} << 24) | (uint32_t{h[4]} << 16)
               | (uint32_t{h[5]} << 8) | uint32_t{h[6]};
  if (len > 0 && len < min_body_ciphertext)
    return malformed("frame body of " + std::to_string(len)
                     + " bytes cannot hold a tag and a data byte");
  auto data_len = len == 0 ? size_t{0} : len - tag_len;
  frame_event ev;
  // Everything is checked here, before the body arrives, so a forged header
  // costs the receiver 23 bytes of reading and no allocation.
  switch (static_cast<frame_type>(type)) {
    case frame_type::message_first: {
      if (in_message_)
        return malformed("a new message started before the previous one ended");
      if (value > cfg_.max_message_size)
        return {errc::message_too_large,
                "peer announced a message of " + std::to_string(value)
                  + " bytes, the maximum is "
                  + std::to_string(cfg_.max_message_size)};
      if (data_len == 0)
        return malformed("message-first frame without its priority byte");
      if (data_len - 1 > value)
        return malformed("first fragment carries "
                         + std::to_string(data_len - 1) + " bytes of a "
                         + std::to_string(value) + "-byte message");
      if (value > 0 && data_len == 1)
        return malformed("empty first fragment of a non-empty message");
      break;
    }
    case frame_type::message_continuation:
      if (value != 0)
        return malformed("continuation header with a nonzero value");
      if (!in_message_)
        return malformed("continuation fragment without a message in progress");
      if (data_len == 0)
        return malformed("empty continuation fragment");
      if (data_len > msg_total_ - msg_pos_)
        return malformed("fragments exceed the declared message length of "
                         + std::to_string(msg_total_));
      break;
    case frame_type::keepalive:
      if (value != 0 || len != 0)
        return malformed("keepalive frame with a value or a body");
      ev.kind = frame_event_kind::keepalive;
      s.fn(s.obj, ev);
      return {};
    case frame_type::rekey:
      if (value != 0 || len != 0)
        return malformed("rekey frame with a value or a body");
      if (auto res = receive_.rekey(); !res)
        return res;
      ev.kind = frame_event_kind::rekey;
      s.fn(s.obj, ev);
      return {};
    case frame_type::choose:
      if (value != 0 || len != 0)
        return malformed("choose frame with a value or a body");
      ev.kind = frame_event_kind::choose;
      s.fn(s.obj, ev);
      return {};
    case frame_type::service:
      if (value == 0 || value > UINT16_MAX)
        return malformed("service frame of kind " + std::to_string(value));
      if (data_len > max_service_body)
        return malformed("service frame body of " + std::to_string(data_len)
                         + " bytes exceeds "
                         + std::to_string(max_service_body));
      if (len == 0) {
        ev.kind = frame_event_kind::service;
        ev.service_kind = static_cast<uint16_t>(value);
        s.fn(s.obj, ev);
        return {};
      }
      break;
    case frame_type::close:
      if (value > UINT16_MAX)
        return malformed("close reason " + std::to_string(value)
                         + " does not fit 16 bits");
      if (len == 0) {
        ev.kind = frame_event_kind::close;
        ev.close_reason = static_cast<uint16_t>(value);
        closed_ = true;
        s.fn(s.obj, ev);
        return {};
      }
      break;
    default: return malformed("unknown frame type " + std::to_string(type));
  }
  body_len_ = len;
  body_type_ = static_cast<frame_type>(type);
  body_value_ = value;
  return {};
}

status frame_decoder::on_body(const_byte_span unit, const sink& s) {
  auto plain_len = unit.size() - tag_len;
  body_len_ = 0;
  frame_event ev;
  if (body_type_ == frame_type::message_first && plain_len - 1 < body_value_) {
    // The first of several fragments: size the reassembly buffer to the
    // priority byte and the announced total (checked against the limit in
    // the header) and open every fragment straight into place.
    auto need = size_t{body_value_};
    if (msg_.capacity() < need)
      byte_buffer{}.swap(msg_); // Stale bytes need not be copied over.
    msg_.resize(need);
    if (auto res = receive_.open({}, unit, &msg_prio_, 1, msg_.data()); !res)
      return with_context(res, "frame body");
    msg_pos_ = plain_len - 1;
    msg_total_ = body_value_;
    in_message_ = true;
    return {};
  }
  if (body_type_ == frame_type::message_continuation) {
    if (auto res = receive_.open({}, unit, msg_.data() + msg_pos_); !res)
      return with_context(res, "frame body");
    msg_pos_ += plain_len;
    if (msg_pos_ < msg_total_)
      return {};
    ev.priority = msg_prio_;
    ev.message = const_byte_span{msg_.data(), msg_total_};
    // The callback may take the buffer itself unless it is a reused
    // allocation much larger than this message.
    if (msg_.capacity() <= 2 * msg_total_)
      ev.message_buffer = &msg_;
    s.fn(s.obj, ev);
    in_message_ = false;
    msg_pos_ = 0;
    msg_total_ = 0;
    if (msg_.capacity() > keep_capacity)
      byte_buffer{}.swap(msg_);
    return {};
  }
  // A whole message in one frame, or a close text: open into the scratch
  // buffer and hand it out from there.
  if (body_.size() < plain_len) {
    // Grow geometrically: idle or chatty connections keep a small buffer.
    body_.resize(std::max(plain_len, std::min(2 * body_.size() + 256,
                                              max_message_len - tag_len)));
  }
  if (auto res = receive_.open({}, unit, body_.data()); !res)
    return with_context(res, "frame body");
  if (body_type_ == frame_type::message_first) {
    ev.priority = body_[0];
    ev.message = const_byte_span{body_.data() + 1, plain_len - 1};
  } else if (body_type_ == frame_type::service) {
    ev.kind = frame_event_kind::service;
    ev.service_kind = static_cast<uint16_t>(body_value_);
    ev.service_body = const_byte_span{body_.data(), plain_len};
  } else {
    ev.kind = frame_event_kind::close;
    ev.close_reason = static_cast<uint16_t>(body_value_);
    ev.close_text = std::string_view{
      reinterpret_cast<const char*>(body_.data()), plain_len};
    closed_ = true;
  }
  s.fn(s.obj, ev);
  return {};
}

status frame_decoder::fail(status err) {
  err_ = std::move(err);
  byte_buffer{}.swap(in_);
  byte_buffer{}.swap(msg_);
  msg_pos_ = 0;
  msg_total_ = 0;
  in_message_ = false;
  return err_;
}

// -- frame_codec --------------------------------------------------------------

frame_codec::frame_codec(transport_keys keys, frame_codec_config cfg)
  : encoder(std::move(keys.send), cfg), decoder(std::move(keys.receive), cfg) {
  // nop
}

} // namespace crust::noise
