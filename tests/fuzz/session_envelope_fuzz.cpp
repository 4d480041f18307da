// The rUDP SESSION's envelope decoder on arbitrary bytes: no crash, and an
// envelope that decodes wraps back to the same bytes.

#include "crust/transport/codec/session_envelope.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

using namespace crust;
using namespace crust::codec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  byte_buffer in(data, data + size);
  auto res = unwrap(byte_buffer{in});
  if (!res)
    return 0;
  byte_buffer again;
  switch (res->kind) {
    case envelope_kind::message:
      again = wrap_message(std::move(res->body));
      break;
    case envelope_kind::choose: again = wrap_choose(); break;
    case envelope_kind::service:
      again = wrap_service(res->service_kind, res->body);
      break;
  }
  if (again != in)
    std::abort();
  return 0;
}
