#include "crust/transport/noise/frame_codec.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace crust::noise {

namespace {

/// Tag plus the type byte: the shortest body ciphertext.
constexpr size_t min_body_ciphertext = tag_len + 1;

/// Bytes of the total-length field of a first fragment.
constexpr size_t total_len = 4;

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
  auto first = cfg_.max_frame_body - 1 - total_len;
  auto more = cfg_.max_frame_body - 1;
  size_t frames = 1;
  if (size > first)
    frames += (size - first + more - 1) / more;
  return frames * (frame_length_len + min_body_ciphertext) + total_len + size;
}

status frame_encoder::encode_message(const_byte_span msg, byte_buffer& out) {
  if (auto res = check_usable(); !res)
    return res;
  if (msg.size() > cfg_.max_message_size)
    return {errc::message_too_large, "message of " + std::to_string(msg.size())
                                       + " bytes exceeds the maximum of "
                                       + std::to_string(cfg_.max_message_size)};
  auto start = out.size();
  out.reserve(start + encoded_size(msg.size()));
  uint8_t header[total_len];
  auto n = static_cast<uint32_t>(msg.size());
  for (size_t i = 0; i < total_len; ++i)
    header[i] = static_cast<uint8_t>(n >> (8 * (total_len - 1 - i)));
  auto first = std::min(msg.size(), cfg_.max_frame_body - 1 - total_len);
  if (auto res = rekey_if_due(out); !res)
    return fail(res, out, start);
  if (auto res = seal_frame(frame_type::message_first, header, total_len,
                            msg.subspan(0, first), out);
      !res)
    return fail(res, out, start);
  for (auto pos = first; pos < msg.size();) {
    auto chunk = std::min(msg.size() - pos, cfg_.max_frame_body - 1);
    if (auto res = rekey_if_due(out); !res)
      return fail(res, out, start);
    if (auto res = seal_frame(frame_type::message_continuation, nullptr, 0,
                              msg.subspan(pos, chunk), out);
        !res)
      return fail(res, out, start);
    pos += chunk;
  }
  return {};
}

status frame_encoder::encode_keepalive(byte_buffer& out) {
  if (auto res = check_usable(); !res)
    return res;
  auto start = out.size();
  if (auto res = rekey_if_due(out); !res)
    return fail(res, out, start);
  if (auto res = seal_frame(frame_type::keepalive, nullptr, 0, {}, out); !res)
    return fail(res, out, start);
  return {};
}

status frame_encoder::encode_rekey(byte_buffer& out) {
  if (auto res = check_usable(); !res)
    return res;
  auto start = out.size();
  if (auto res = seal_frame(frame_type::rekey, nullptr, 0, {}, out); !res)
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
  uint8_t header[2] = {static_cast<uint8_t>(reason >> 8),
                       static_cast<uint8_t>(reason)};
  auto room = std::min(max_close_text, cfg_.max_frame_body - 1 - 2);
  text = text.substr(0, room);
  if (auto res = rekey_if_due(out); !res)
    return fail(res, out, start);
  const_byte_span data{reinterpret_cast<const uint8_t*>(text.data()),
                       text.size()};
  if (auto res = seal_frame(frame_type::close, header, 2, data, out); !res)
    return fail(res, out, start);
  closed_ = true;
  return {};
}

status frame_encoder::rekey_if_due(byte_buffer& out) {
  if (cfg_.rekey_interval == 0 || since_rekey_ < cfg_.rekey_interval)
    return {};
  if (auto res = seal_frame(frame_type::rekey, nullptr, 0, {}, out); !res)
    return res;
  if (auto res = send_.rekey(); !res)
    return res;
  since_rekey_ = 0;
  return {};
}

status frame_encoder::seal_frame(frame_type type, const uint8_t* header,
                                 size_t header_len, const_byte_span data,
                                 byte_buffer& out) {
  auto body_len = 1 + header_len + data.size();
  auto sealed_len = body_len + tag_len;
  auto pos = out.size();
  // Build the plaintext where the ciphertext goes, then seal in place; the
  // caller reserved room, so none of these inserts reallocates per frame.
  uint8_t prefix[frame_length_len] = {static_cast<uint8_t>(sealed_len >> 8),
                                      static_cast<uint8_t>(sealed_len)};
  out.insert(out.end(), prefix, prefix + frame_length_len);
  out.push_back(static_cast<uint8_t>(type));
  if (header_len > 0)
    out.insert(out.end(), header, header + header_len);
  out.insert(out.end(), data.begin(), data.end());
  out.resize(out.size() + tag_len);
  auto* p = out.data() + pos;
  if (auto res = send_.seal({}, const_byte_span{p, 2}, p); !res)
    return with_context(res, "sealing a frame length");
  auto* body = p + frame_length_len;
  if (auto res = send_.seal({}, const_byte_span{body, body_len}, body); !res)
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
      return fail({errc::malformed_message, "data after a close frame"});
    auto need = body_len_ == 0 ? frame_length_len : body_len_;
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
    auto res = body_len_ == 0 ? on_length(unit) : on_body(unit, s);
    if (buffered)
      in_.clear();
    if (!res)
      return fail(std::move(res));
  }
  return {};
}

status frame_decoder::on_length(const_byte_span unit) {
  uint8_t len[2];
  if (auto res = receive_.open({}, unit, len); !res)
    return with_context(res, "frame length");
  size_t n = (size_t{len[0]} << 8) | len[1];
  if (n < min_body_ciphertext)
    return {errc::malformed_message,
            "frame body of " + std::to_string(n)
              + " bytes cannot hold a tag and a type byte"};
  body_len_ = n;
  return {};
}

status frame_decoder::on_body(const_byte_span unit, const sink& s) {
  auto plain_len = unit.size() - tag_len;
  if (body_.size() < plain_len) {
    // Grow geometrically: idle or chatty connections keep a small buffer.
    body_.resize(std::max(plain_len, std::min(2 * body_.size() + 256,
                                              max_message_len - tag_len)));
  }
  if (auto res = receive_.open({}, unit, body_.data()); !res)
    return with_context(res, "frame body");
  body_len_ = 0;
  auto type = body_[0];
  const_byte_span payload{body_.data() + 1, plain_len - 1};
  frame_event ev;
  switch (static_cast<frame_type>(type)) {
    case frame_type::message_first: {
      if (in_message_)
        return {errc::malformed_message,
                "a new message started before the previous one ended"};
      if (payload.size() < total_len)
        return {errc::malformed_message,
                "first fragment too short for its length field"};
      size_t total = 0;
      for (size_t i = 0; i < total_len; ++i)
        total = (total << 8) | payload[i];
      if (total > cfg_.max_message_size)
        return {errc::message_too_large,
                "peer announced a message of " + std::to_string(total)
                  + " bytes, the maximum is "
                  + std::to_string(cfg_.max_message_size)};
      auto data = payload.subspan(total_len);
      if (data.size() > total)
        return {errc::malformed_message,
                "first fragment carries " + std::to_string(data.size())
                  + " bytes of a " + std::to_string(total) + "-byte message"};
      if (data.size() == total) {
        ev.message = data; // Whole message in one frame: no copy.
        s.fn(s.obj, ev);
        return {};
      }
      msg_.reserve(total);
      msg_.assign(data.begin(), data.end());
      msg_total_ = total;
      in_message_ = true;
      return {};
    }
    case frame_type::message_continuation: {
      if (!in_message_)
        return {errc::malformed_message,
                "continuation fragment without a message in progress"};
      if (payload.empty())
        return {errc::malformed_message, "empty continuation fragment"};
      if (payload.size() > msg_total_ - msg_.size())
        return {errc::malformed_message,
                "fragments exceed the declared message length of "
                  + std::to_string(msg_total_)};
      msg_.insert(msg_.end(), payload.begin(), payload.end());
      if (msg_.size() < msg_total_)
        return {};
      ev.message = msg_;
      s.fn(s.obj, ev);
      in_message_ = false;
      if (msg_.capacity() > keep_capacity)
        byte_buffer{}.swap(msg_);
      else
        msg_.clear();
      return {};
    }
    case frame_type::keepalive:
      if (!payload.empty())
        return {errc::malformed_message, "keepalive frame with a payload"};
      ev.kind = frame_event_kind::keepalive;
      s.fn(s.obj, ev);
      return {};
    case frame_type::rekey:
      if (!payload.empty())
        return {errc::malformed_message, "rekey frame with a payload"};
      if (auto res = receive_.rekey(); !res)
        return res;
      ev.kind = frame_event_kind::rekey;
      s.fn(s.obj, ev);
      return {};
    case frame_type::close:
      if (payload.size() < 2)
        return {errc::malformed_message, "close frame without a reason"};
      ev.kind = frame_event_kind::close;
      ev.close_reason = static_cast<uint16_t>((payload[0] << 8) | payload[1]);
      ev.close_text = std::string_view{
        reinterpret_cast<const char*>(payload.data() + 2), payload.size() - 2};
      closed_ = true;
      s.fn(s.obj, ev);
      return {};
  }
  return {errc::malformed_message,
          "unknown frame type " + std::to_string(type)};
}

status frame_decoder::fail(status err) {
  err_ = std::move(err);
  byte_buffer{}.swap(in_);
  byte_buffer{}.swap(msg_);
  in_message_ = false;
  return err_;
}

// -- frame_codec --------------------------------------------------------------

frame_codec::frame_codec(transport_keys keys, frame_codec_config cfg)
  : encoder(std::move(keys.send), cfg), decoder(std::move(keys.receive), cfg) {
  // nop
}

} // namespace crust::noise
