#include "crust/transport/noise/datagram_codec.hpp"

#include <string>
#include <utility>

namespace crust::noise {

datagram_codec::datagram_codec(cipher_state send, cipher_state receive) noexcept
  : send_(std::move(send)), receive_(std::move(receive)) {
  // nop
}

status datagram_codec::seal(const_byte_span ad, const_byte_span plaintext,
                            byte_buffer& out) {
  if (next_ >= reject_after_messages)
    return {errc::nonce_exhausted,
            "datagram packet numbers reached 2^64 - 2^13 - 1; re-handshake"};
  if (plaintext.size() + tag_len > max_message_len)
    return {errc::message_too_large,
            "datagram plaintext of " + std::to_string(plaintext.size())
              + " bytes exceeds " + std::to_string(max_message_len - tag_len)};
  auto start = out.size();
  auto n = next_;
  out.resize(start + header_len + plaintext.size() + tag_len);
  auto* p = out.data() + start;
  for (size_t i = 0; i < header_len; ++i)
    p[i] = static_cast<uint8_t>(n >> (8 * (header_len - 1 - i)));
  if (auto res = send_.seal_at(n, ad, plaintext, p + header_len); !res) {
    out.resize(start);
    return res;
  }
  ++next_;
  return {};
}

expected<uint64_t> datagram_codec::open(const_byte_span ad,
                                        const_byte_span packet,
                                        byte_buffer& out) {
  if (packet.size() < overhead)
    return {errc::malformed_message,
            "datagram of " + std::to_string(packet.size())
              + " bytes is shorter than the " + std::to_string(overhead)
              + "-byte minimum"};
  if (packet.size() - header_len > max_message_len)
    return {errc::message_too_large, "datagram ciphertext of "
                                       + std::to_string(packet.size() - 8)
                                       + " bytes exceeds 65535"};
  uint64_t n = 0;
  for (size_t i = 0; i < header_len; ++i)
    n = (n << 8) | packet[i];
  if (n >= reject_after_messages)
    return {errc::malformed_message, "packet number " + std::to_string(n)
                                       + " lies beyond the sender's ceiling"};
  // Cheap rejection first; the window itself moves only after the tag.
  if (auto res = window_.check(n); !res)
    return res.error();
  auto ciphertext = packet.subspan(header_len);
  auto start = out.size();
  out.resize(start + ciphertext.size() - tag_len);
  if (auto res = receive_.open_at(n, ad, ciphertext, out.data() + start);
      !res) {
    out.resize(start);
    return res.error();
  }
  window_.accept(n);
  return n;
}

} // namespace crust::noise
