#pragma once

#include "crust/messages/expected.hpp"
#include "crust/transport/byte_span.hpp"
#include "crust/transport/noise/cipher_state.hpp"
#include "crust/transport/noise/handshake_state.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

namespace crust::noise {

/// The type byte of every frame header (docs/wire-protocol.md).
enum class frame_type : uint8_t {
  /// Value: total message length. Body: the message's priority (u8, lower
  /// is more urgent), then the first bytes of the message.
  message_first = 1,
  /// Value 0. Body (at least one byte): more of the message in progress.
  message_continuation = 2,
  /// Value 0, no body: proves liveness.
  keepalive = 3,
  /// Value 0, no body: the sender switched its send key; the receiver
  /// follows.
  rekey = 4,
  /// Value: the reason (u16). Body (optional): text. The sender sends
  /// nothing more.
  close = 5,
  /// Value 0, no body: the sender (the peer with the larger peer id) keeps
  /// this connection.
  choose = 6,
  /// Value: the service message kind (1 to 65535). Body (optional, at most
  /// `max_service_body` bytes): the message (transport/codec/
  /// service_message.hpp). crust's own messages between two services:
  /// bootstrap, echo, gossip.
  service = 7,
};

/// Limits of the stream framing.
struct frame_codec_config {
  /// Largest application message (default 2 MiB, as the original Crust).
  size_t max_message_size = size_t{2} * 1024 * 1024;
  /// Frames between automatic rekeys of the send key; 0 disables them.
  uint64_t rekey_interval = uint64_t{1} << 16;
  /// Largest frame body plaintext (the first fragment's includes the priority
  /// byte): at most 65519 (65535 with the tag) and at least 16; smaller
  /// values bound the latency of interleaved frames. The default, 1023 * 64,
  /// keeps full fragments free of a ChaCha20 partial block.
  size_t max_frame_body = 65472;
};

/// Bytes of the sealed header in front of every frame:
/// seal([u16 BE body ciphertext length][u8 type][u32 BE value]).
constexpr size_t frame_header_len = 7 + tag_len;

/// Longest close text the encoder sends.
constexpr size_t max_close_text = 256;

/// Largest body of a service frame: service messages are small, and one
/// frame carries each whole.
constexpr size_t max_service_body = 8192;

/// Turns messages and control signals into frames: each frame is a sealed
/// header, then, unless the frame carries no bytes, `seal(data)`. Bodies are
/// sealed straight from the caller's message into the output. After a failure
/// the encoder stays failed.
class frame_encoder {
public:
  explicit frame_encoder(cipher_state send,
                         frame_codec_config cfg = {}) noexcept;

  /// Appends the frames of `msg` at priority `prio` (lower is more urgent) to
  /// `out`, fragmenting as needed. Fails with `message_too_large` (nothing
  /// appended) above the maximum size. `msg` must not point into `out`.
  status encode_message(const_byte_span msg, uint8_t prio, byte_buffer& out);

  /// Appends a keepalive frame.
  status encode_keepalive(byte_buffer& out);

  /// Appends a rekey frame, then rekeys the send key.
  status encode_rekey(byte_buffer& out);

  /// Appends a choose frame: we keep this connection.
  status encode_choose(byte_buffer& out);

  /// Appends a service frame of `kind` (nonzero) carrying `body` (at most
  /// `max_service_body` bytes; otherwise `message_too_large`, nothing
  /// appended and the encoder still usable).
  status encode_service(uint16_t kind, const_byte_span body, byte_buffer& out);

  /// Appends a close frame (text cut to `max_close_text` and to the maximum
  /// frame body); afterwards every encode call fails with `handshake_state`.
  status encode_close(uint16_t reason, std::string_view text, byte_buffer& out);

  /// Bytes `encode_message` appends for a message of `size` bytes, not
  /// counting automatic rekey frames (`frame_header_len` each).
  size_t encoded_size(size_t size) const noexcept;

  const frame_codec_config& config() const noexcept {
    return cfg_;
  }

  /// Frames sealed since the last rekey.
  uint64_t frames_since_rekey() const noexcept {
    return since_rekey_;
  }

  bool failed() const noexcept {
    return !err_;
  }

private:
  status check_usable() const;
  /// Seals one frame; `prefix`, if set, is the first body byte, sealed
  /// together with `data` (the priority byte of a message-first frame).
  status seal_frame(frame_type type, uint32_t value, const_byte_span data,
                    byte_buffer& out, std::optional<uint8_t> prefix = {});
  status encode_control(frame_type type, byte_buffer& out);
  status rekey_if_due(byte_buffer& out);
  status fail(status err, byte_buffer& out, size_t rollback);

  cipher_state send_;
  frame_codec_config cfg_;
  uint64_t since_rekey_ = 0;
  bool closed_ = false;
  status err_;
};

/// What the decoder yields.
enum class frame_event_kind : uint8_t {
  message,
  keepalive,
  rekey,
  close,
  choose,
  service,
};

/// One complete message or control signal. Spans point into the decoder's
/// buffers and are valid only during the callback.
struct frame_event {
  frame_event_kind kind = frame_event_kind::message;
  /// The whole message (kind message).
  const_byte_span message;
  /// Set when a decoder buffer holds exactly `message`: `take_message` may
  /// then move it out instead of copying.
  byte_buffer* message_buffer = nullptr;
  /// The message's priority (kind message; lower is more urgent).
  uint8_t priority = 0;
  /// Reason and text (kind close).
  uint16_t close_reason = 0;
  std::string_view close_text;
  /// Kind and body (kind service).
  uint16_t service_kind = 0;
  const_byte_span service_body;

  /// The message as owned bytes: the decoder's buffer itself when it can
  /// give it away (at most once per event), a copy otherwise. `message` is
  /// invalid afterwards.
  byte_buffer take_message() const {
    if (message_buffer != nullptr && message_buffer->size() == message.size()
        && message_buffer->data() == message.data()) {
      byte_buffer taken;
      taken.swap(*message_buffer);
      return taken;
    }
    return message.to_buffer();
  }
};

/// Reassembles frames into messages. Buffers at most one frame (a header or
/// a body, <= 65535 bytes) plus the message being reassembled (<= the maximum
/// message size, allocated only after the declared size passed the limit;
/// fragments are opened straight into it). Any error is final: every later
/// call fails the same way.
class frame_decoder {
public:
  explicit frame_decoder(cipher_state receive,
                         frame_codec_config cfg = {}) noexcept;

  /// Consumes `bytes` (any chunking) and calls `f(const frame_event&)` for
  /// every complete message and control frame. `f` must not call back into
  /// the decoder; if it throws, the decoder is unusable afterwards. Fails with
  /// `decrypt_failed`, `malformed_message`, `message_too_large` or
  /// `nonce_exhausted`.
  template<class F>
  status feed(const_byte_span bytes, F&& f) {
    using fun_t = std::remove_reference_t<F>;
    sink s{&f, [](void* ptr, const frame_event& ev) {
             (*static_cast<fun_t*>(ptr))(ev);
           }};
    return feed_impl(bytes, s);
  }

  /// True once a close frame arrived; later frames are an error.
  bool closed() const noexcept {
    return closed_;
  }

  bool failed() const noexcept {
    return !err_;
  }

  const failure& error() const noexcept {
    return err_.error();
  }

  /// Bytes of an incomplete frame held back.
  size_t buffered() const noexcept {
    return in_.size();
  }

  /// Bytes of the message being reassembled received so far.
  size_t reassembling() const noexcept {
    return msg_pos_;
  }

  const frame_codec_config& config() const noexcept {
    return cfg_;
  }

private:
  struct sink {
    void* obj;
    void (*fn)(void*, const frame_event&);
  };

  status feed_impl(const_byte_span bytes, const sink& s);
  status on_header(const_byte_span unit, const sink& s);
  status on_body(const_byte_span unit, const sink& s);
  status fail(status err);

  cipher_state receive_;
  frame_codec_config cfg_;
  /// Ciphertext length of the body to read next, 0 while reading a header.
  size_t body_len_ = 0;
  /// Type and value from the header of the body to read next.
  frame_type body_type_ = frame_type::keepalive;
  uint32_t body_value_ = 0;
  /// A partial header or body.
  byte_buffer in_;
  /// Scratch for a single-frame message or a close text.
  byte_buffer body_;
  /// The message being reassembled (sized to it; the allocation is reused
  /// unless an event took it), its priority, message bytes received,
  /// declared size.
  byte_buffer msg_;
  uint8_t msg_prio_ = 0;
  size_t msg_pos_ = 0;
  size_t msg_total_ = 0;
  bool in_message_ = false;
  bool closed_ = false;
  status err_;
};

/// Both directions of one stream connection.
struct frame_codec {
  frame_encoder encoder;
  frame_decoder decoder;

  /// From the transport keys of one side.
  explicit frame_codec(transport_keys keys, frame_codec_config cfg = {});
};

} // namespace crust::noise
