#pragma once

// A packet protection that encrypts nothing: `packet number | plaintext |
// tag`, with the real replay window. The tag is a keyless checksum (FNV-1a
// over the additional data, the packet number and the plaintext, then eight
// zero bytes): it catches accidental corruption, as the AEAD would, while
// anyone can compute it (`tag_of`). For suites and the engine fuzz target
// that must craft or read packets after the handshake; never used outside
// tests. Header-only, engines only.

#include "crust/transport/noise/replay_window.hpp"
#include "crust/transport/rudp/packet_protection.hpp"

#include <cstdint>
#include <memory>

namespace crust::test {

class rudp_null_protection final : public rudp::packet_protection {
public:
  static constexpr size_t tag_len = 16;

  /// Appends the tag of a packet to `out`.
  static void tag_of(const_byte_span ad, uint64_t pn, const_byte_span plaintext,
                     byte_buffer& out) {
    uint64_t h = 0xcbf29ce484222325ull;
    auto mix = [&h](uint8_t x) {
      h = (h ^ x) * 0x100000001b3ull;
    };
    for (auto x : ad)
      mix(x);
    for (int shift = 56; shift >= 0; shift -= 8)
      mix(static_cast<uint8_t>(pn >> shift));
    for (auto x : plaintext)
      mix(x);
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<uint8_t>(h >> shift));
    out.insert(out.end(), tag_len - 8, 0);
  }

  status seal(const_byte_span ad, const_byte_span plaintext,
              byte_buffer& out) override {
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<uint8_t>(next_ >> shift));
    out.insert(out.end(), plaintext.begin(), plaintext.end());
    tag_of(ad, next_, plaintext, out);
    ++next_;
    return {};
  }

  expected<uint64_t> open(const_byte_span ad, const_byte_span body,
                          byte_buffer& out) override {
    if (body.size() < 8 + tag_len)
      return failure{errc::malformed_message, "too short"};
    uint64_t pn = 0;
    for (size_t i = 0; i < 8; ++i)
      pn = (pn << 8) | body[i];
    if (auto st = window_.check(pn); !st)
      return st.error();
    auto plain = body.subspan(8, body.size() - 8 - tag_len);
    byte_buffer tag;
    tag_of(ad, pn, plain, tag);
    if (body.subspan(body.size() - tag_len) != const_byte_span{tag})
      return failure{errc::decrypt_failed, "wrong tag"};
    window_.accept(pn);
    out.insert(out.end(), plain.begin(), plain.end());
    return pn;
  }

  uint64_t next_packet_number() const noexcept override {
    return next_;
  }

private:
  uint64_t next_ = 0;
  noise::replay_window window_;
};

/// The factory to put into `connection_config::protection`.
inline rudp::protection_factory rudp_null_protection_factory() {
  return [](noise::transport_keys) -> std::unique_ptr<rudp::packet_protection> {
    return std::make_unique<rudp_null_protection>();
  };
}

} // namespace crust::test
