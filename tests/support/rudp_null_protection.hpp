#pragma once

// A packet protection that encrypts nothing: `packet number | plaintext |
// 16 zero bytes`, with the real replay window. For suites and the engine
// fuzz target that must craft or read packets after the handshake; never
// used outside tests. Header-only, engines only.

#include "crust/transport/noise/replay_window.hpp"
#include "crust/transport/rudp/packet_protection.hpp"

#include <cstdint>
#include <memory>

namespace crust::test {

class rudp_null_protection final : public rudp::packet_protection {
public:
  static constexpr size_t tag_len = 16;

  status seal(const_byte_span, const_byte_span plaintext,
              byte_buffer& out) override {
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<uint8_t>(next_ >> shift));
    out.insert(out.end(), plaintext.begin(), plaintext.end());
    out.insert(out.end(), tag_len, 0);
    ++next_;
    return {};
  }

  expected<uint64_t> open(const_byte_span, const_byte_span body,
                          byte_buffer& out) override {
    if (body.size() < 8 + tag_len)
      return failure{errc::malformed_message, "too short"};
    uint64_t pn = 0;
    for (size_t i = 0; i < 8; ++i)
      pn = (pn << 8) | body[i];
    if (auto st = window_.check(pn); !st)
      return st.error();
    for (size_t i = body.size() - tag_len; i < body.size(); ++i)
      if (body[i] != 0)
        return failure{errc::decrypt_failed, "tag is not zero"};
    window_.accept(pn);
    auto plain = body.subspan(8, body.size() - 8 - tag_len);
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
