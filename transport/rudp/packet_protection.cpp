#include "crust/transport/rudp/packet_protection.hpp"

#include "crust/transport/noise/datagram_codec.hpp"

#include <utility>

namespace crust::rudp {

namespace {

class aead_protection final : public packet_protection {
public:
  explicit aead_protection(noise::transport_keys keys)
    : codec_(std::move(keys.send), std::move(keys.receive)) {
    // nop
  }

  status seal(const_byte_span ad, const_byte_span plaintext,
              byte_buffer& out) override {
    return codec_.seal(ad, plaintext, out);
  }

  expected<uint64_t> open(const_byte_span ad, const_byte_span body,
                          byte_buffer& out) override {
    return codec_.open(ad, body, out);
  }

  uint64_t next_packet_number() const noexcept override {
    return codec_.next_packet_number();
  }

private:
  noise::datagram_codec codec_;
};

} // namespace

std::unique_ptr<packet_protection>
make_aead_protection(noise::transport_keys keys) {
  return std::make_unique<aead_protection>(std::move(keys));
}

} // namespace crust::rudp
