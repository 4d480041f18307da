// libFuzzer target: LAN beacon packets (transport/codec/beacon_packet).
//
// The input is one datagram for `beacon::decode`.
// Invariants (a broken one traps):
//   - decoding never crashes and fails only with `malformed_message` or
//     `unknown_version`, with a detail;
//   - a request is exactly `request_size` bytes and re-encodes to the input;
//   - a reply is at most `max_reply_size` bytes (never more than
//     `max_amplification` times a request), carries a non-zero id and at
//     most `max_reply_endpoints` endpoints, and re-encodes to the input
//     (the codec is canonical).
//
// To regenerate the seed corpus:
//   CRUST_FUZZ_WRITE_SEEDS=tests/fuzz/corpus/beacon_packet \
//     ./build/fuzz/tests/fuzz/beacon_packet_fuzz -runs=0

#include "crust/transport/codec/beacon_packet.hpp"

#include "fuzz_support.hpp"

#include <cstdint>
#include <string>

using namespace crust;
using namespace crust::fuzz;

namespace {

void write_seeds(const std::string& dir) {
  auto net = beacon::hash_network_name("crust-default");
  write_file(dir, "request", beacon::encode(beacon::request{net, 42}));
  beacon::reply r;
  r.network = net;
  r.nonce = 42;
  peer_id::bytes_type id;
  for (size_t i = 0; i < id.size(); ++i)
    id[i] = static_cast<uint8_t>(i + 1);
  r.id = peer_id{id};
  r.endpoints = {*endpoint::parse("192.0.2.1:5483"),
                 *endpoint::parse("udp://[2001:db8::1]:5483")};
  write_file(dir, "reply", *beacon::encode(r));
  for (int n = 0; n < 16; ++n)
    r.endpoints.push_back(
      *endpoint::parse("[2001:db8::" + std::to_string(n + 2) + "]:1"));
  write_file(dir, "reply_largest", *beacon::encode(r));
  auto v2 = beacon::encode(beacon::request{net, 1});
  v2[0] = 2;
  write_file(dir, "request_version2", v2);
  write_file(dir, "garbage", byte_buffer(64, 0xab));
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  return write_seeds_if_asked(write_seeds);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const_byte_span input{data, size};
  auto pkt = beacon::decode(input);
  if (!pkt) {
    require(pkt.error().code == errc::malformed_message
            || pkt.error().code == errc::unknown_version);
    require(!pkt.error().detail.empty());
    return 0;
  }
  if (auto* req = std::get_if<beacon::request>(&*pkt)) {
    require(size == beacon::request_size);
    require(beacon::encode(*req) == input.to_buffer());
    return 0;
  }
  auto& rep = std::get<beacon::reply>(*pkt);
  require(size <= beacon::max_reply_size);
  require(static_cast<double>(size)
          <= beacon::max_amplification * beacon::request_size);
  require(!rep.id.is_zero());
  require(rep.endpoints.size() <= beacon::max_reply_endpoints);
  auto again = beacon::encode(rep);
  require(again && *again == input.to_buffer());
  return 0;
}
