// A downstream program built against an installed crust: two identities run
// crust's handshake in memory, exchange one framed message, and a CAF actor
// system with crust's type IDs starts and stops.

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <crust/messages/peer_id.hpp>
#include <crust/messages/type_ids.hpp>
#include <crust/transport/identity.hpp>
#include <crust/transport/noise/channel_handshake.hpp>
#include <crust/transport/noise/frame_codec.hpp>
#include <iostream>
#include <string>

namespace {

int fail(const std::string& what) {
  std::cerr << "consumer failed: " << what << '\n';
  return 1;
}

} // namespace

int main() {
  using namespace crust;
  auto alice = node_identity::generate();
  auto bob = node_identity::generate();
  if (!alice || !bob)
    return fail("identity");
  auto make = [](noise::role side, const node_identity& id) {
    noise::channel_config cfg;
    cfg.side = side;
    cfg.local_static = id.keys();
    cfg.network_name = "consumer";
    return noise::channel_handshake::create(std::move(cfg));
  };
  auto init = make(noise::role::initiator, *alice);
  auto resp = make(noise::role::responder, *bob);
  if (!init || !resp)
    return fail("handshake setup");
  byte_buffer a_to_b;
  byte_buffer b_to_a;
  if (!init->start(a_to_b))
    return fail("start");
  for (int round = 0; !(init->done() && resp->done()); ++round) {
    if (round == 4)
      return fail("handshake stalled");
    if (!a_to_b.empty() && !resp->on_bytes(a_to_b, b_to_a))
      return fail("responder: " + resp->error().message());
    a_to_b.clear();
    if (!b_to_a.empty() && !init->on_bytes(b_to_a, a_to_b))
      return fail("initiator: " + init->error().message());
    b_to_a.clear();
  }
  auto x = init->finish();
  auto y = resp->finish();
  if (!x || !y)
    return fail("handshake did not complete");
  if (peer_id{x->remote_static} != bob->peer_id())
    return fail("wrong peer id");
  noise::frame_encoder enc{std::move(x->keys.send)};
  noise::frame_decoder dec{std::move(y->keys.receive)};
  std::string text = "hello from the consumer";
  byte_buffer wire;
  if (!enc.encode_message(
        const_byte_span{reinterpret_cast<const uint8_t*>(text.data()),
                        text.size()},
        0, wire))
    return fail("encode");
  std::string got;
  if (!dec.feed(wire, [&](const noise::frame_event& ev) {
        got.assign(ev.message.begin(), ev.message.end());
      }))
    return fail("decode");
  if (got != text)
    return fail("message mismatch");
  caf::actor_system_config cfg;
  crust::add_message_types(cfg);
  caf::actor_system sys{cfg};
  std::cout << "consumer ok " << alice->peer_id().short_hex() << " -> "
            << bob->peer_id().short_hex() << '\n';
  return 0;
}
