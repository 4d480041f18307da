// Every service-frame body decoder on arbitrary bytes: no crash, and a body
// that decodes encodes back to one that decodes to the same fields.

#include "crust/transport/codec/service_message.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

using namespace crust;
using namespace crust::codec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const_byte_span in{data, size};
  if (auto x = decode_bootstrap_request(in)) {
    auto again = decode_bootstrap_request(encode(*x));
    if (!again || again->endpoints != x->endpoints)
      std::abort();
  }
  if (auto x = decode_bootstrap_deny(in)) {
    auto again = decode_bootstrap_deny(encode(*x));
    if (!again || again->reason != x->reason)
      std::abort();
  }
  if (auto x = decode_echo_request(in)) {
    auto again = decode_echo_request(encode(*x));
    if (!again || again->nonce != x->nonce)
      std::abort();
  }
  if (auto x = decode_echo_reply(in)) {
    auto again = decode_echo_reply(encode(*x));
    if (!again || again->observed != x->observed)
      std::abort();
  }
  if (auto x = decode_gossip(in)) {
    auto again = decode_gossip(encode(*x));
    if (!again || again->contacts.size() != x->contacts.size())
      std::abort();
  }
  static_cast<void>(decode_empty(in));
  return 0;
}
