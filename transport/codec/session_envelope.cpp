#include "crust/transport/codec/session_envelope.hpp"

#include "crust/transport/noise/frame_codec.hpp"

#include <string>
#include <utility>

namespace crust::codec {

namespace {

failure malformed(std::string detail) {
  return failure{errc::malformed_message,
                 "rUDP envelope: " + std::move(detail)};
}

} // namespace

byte_buffer wrap_message(byte_buffer&& payload) {
  payload.insert(payload.begin(), static_cast<uint8_t>(envelope_kind::message));
  return std::move(payload);
}

byte_buffer wrap_choose() {
  return byte_buffer{static_cast<uint8_t>(envelope_kind::choose)};
}

byte_buffer wrap_service(uint16_t kind, const_byte_span body) {
  byte_buffer out;
  out.reserve(service_envelope_overhead + body.size());
  out.push_back(static_cast<uint8_t>(envelope_kind::service));
  out.push_back(static_cast<uint8_t>(kind >> 8));
  out.push_back(static_cast<uint8_t>(kind & 0xFF));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

expected<session_envelope> unwrap(byte_buffer&& bytes) {
  if (bytes.empty())
    return malformed("empty message");
  session_envelope out;
  switch (bytes[0]) {
    case static_cast<uint8_t>(envelope_kind::message):
      out.kind = envelope_kind::message;
      bytes.erase(bytes.begin());
      out.body = std::move(bytes);
      return out;
    case static_cast<uint8_t>(envelope_kind::choose):
      if (bytes.size() != 1)
        return malformed("a choose with a body");
      out.kind = envelope_kind::choose;
      return out;
    case static_cast<uint8_t>(envelope_kind::service): {
      if (bytes.size() < service_envelope_overhead)
        return malformed("a service frame shorter than its header");
      out.kind = envelope_kind::service;
      out.service_kind = static_cast<uint16_t>((bytes[1] << 8) | bytes[2]);
      if (out.service_kind == 0)
        return malformed("a service frame of kind 0");
      if (bytes.size() - service_envelope_overhead > noise::max_service_body)
        return malformed(
          "a service body of "
          + std::to_string(bytes.size() - service_envelope_overhead)
          + " bytes, more than " + std::to_string(noise::max_service_body));
      bytes.erase(bytes.begin(), bytes.begin() + service_envelope_overhead);
      out.body = std::move(bytes);
      return out;
    }
    default: return malformed("unknown kind " + std::to_string(bytes[0]));
  }
}

} // namespace crust::codec
