// ENet ends of the namespace section (libenet-dev; built only when found):
// one peer, one channel, reliable 16 KiB packets of the pattern (ENet
// fragments them), at most 2 MiB queued (counted through the packets' free
// callbacks, which run once the peer acknowledged them). ENet resends only
// on timeout (no fast retransmit): every retransmission is by timer.

#include "netns_posix.hpp"
#include "netns_role.hpp"

#include <enet/enet.h>
#include <stdexcept>
#include <string>

namespace crust::bench::netns {

namespace {

constexpr size_t message_size = 16 * 1024;
constexpr uint64_t max_queued = uint64_t{2} << 20;

/// Payload bytes handed to ENet and not yet acknowledged.
uint64_t queued_bytes = 0;

void on_free(ENetPacket* p) {
  queued_bytes -= p->dataLength;
}

struct enet_library {
  enet_library() {
    if (enet_initialize() != 0)
      throw std::runtime_error{"ENet: enet_initialize failed"};
  }
  ~enet_library() {
    enet_deinitialize();
  }
  enet_library(const enet_library&) = delete;
  enet_library& operator=(const enet_library&) = delete;
};

struct host_guard {
  ENetHost* host;
  explicit host_guard(ENetHost* h) : host(h) {
    if (!host)
      throw std::runtime_error{"ENet: enet_host_create failed"};
  }
  ~host_guard() {
    enet_host_destroy(host);
  }
  host_guard(const host_guard&) = delete;
  host_guard& operator=(const host_guard&) = delete;
};

ENetAddress enet_address(const role_args& args) {
  ENetAddress a{};
  if (enet_address_set_host_ip(&a, args.address.c_str()) != 0)
    throw std::runtime_error{"ENet: bad address " + args.address};
  a.port = args.port;
  return a;
}

/// Sums a peer counter that ENet resets every loss interval (10 s).
struct running_total {
  uint32_t last = 0;
  uint64_t total = 0;
  void sample(uint32_t now) {
    total += now >= last ? now - last : now;
    last = now;
  }
};

} // namespace

int enet_receive(const role_args& args) {
  enet_library lib;
  auto address = enet_address(args);
  host_guard h{enet_host_create(&address, 1, 1, 0, 0)};
  say("ready");
  auto start = clock_type::now();
  receive_meter meter{args.warmup, args.seconds};
  bool connected = false;
  bool gone = false;
  while (!gone && !stop_requested() && since(start) < args.bound - 1) {
    ENetEvent ev;
    auto r = enet_host_service(h.host, &ev, 10);
    if (r < 0)
      throw std::runtime_error{"ENet: enet_host_service failed"};
    for (int i = 0; r > 0 && i < 4096; ++i) {
      if (ev.type == ENET_EVENT_TYPE_CONNECT) {
        connected = true;
      } else if (ev.type == ENET_EVENT_TYPE_RECEIVE) {
        meter.add(ev.packet->data, ev.packet->dataLength);
        enet_packet_destroy(ev.packet);
      } else if (ev.type == ENET_EVENT_TYPE_DISCONNECT) {
        gone = connected;
      }
      r = enet_host_check_events(h.host, &ev);
    }
  }
  say("result " + meter.summary());
  return 0;
}

int enet_send(const role_args& args) {
  enet_library lib;
  host_guard h{enet_host_create(nullptr, 1, 1, 0, 0)};
  auto address = enet_address(args);
  auto* peer = enet_host_connect(h.host, &address, 1, 0);
  if (!peer)
    throw std::runtime_error{"ENet: enet_host_connect failed"};
  auto start = clock_type::now();
  bool connected = false;
  bool gone = false;
  auto service = [&](uint32_t timeout_ms) {
    ENetEvent ev;
    auto r = enet_host_service(h.host, &ev, timeout_ms);
    for (int i = 0; r > 0 && i < 4096; ++i) {
      if (ev.type == ENET_EVENT_TYPE_CONNECT)
        connected = true;
      else if (ev.type == ENET_EVENT_TYPE_DISCONNECT)
        gone = true;
      else if (ev.type == ENET_EVENT_TYPE_RECEIVE)
        enet_packet_destroy(ev.packet);
      r = enet_host_check_events(h.host, &ev);
    }
  };
  while (!connected && !gone && since(start) < 10)
    service(10);
  if (!connected)
    throw std::runtime_error{"ENet: no connection"};
  stream_pattern pattern;
  uint64_t offset = 0;
  uint64_t fragments = 0;
  running_total lost;
  start = clock_type::now();
  while (!gone && since(start) < args.send_seconds) {
    for (int i = 0; i < 256 && queued_bytes < max_queued; ++i) {
      auto* p = enet_packet_create(pattern.at(offset), message_size,
                                   ENET_PACKET_FLAG_RELIABLE);
      if (!p)
        break;
      p->freeCallback = on_free;
      queued_bytes += message_size;
      if (enet_peer_send(peer, 0, p) != 0) {
        enet_packet_destroy(p);
        break;
      }
      auto fragment = peer->mtu - sizeof(ENetProtocolHeader)
                      - sizeof(ENetProtocolSendFragment);
      fragments += (message_size + fragment - 1) / fragment;
      offset += message_size;
    }
    service(1);
    lost.sample(peer->packetsLost);
  }
  lost.sample(peer->packetsLost);
  auto mean_fragment = fragments > 0 ? offset / fragments : 0;
  std::string out = "result " + field("sent_bytes", offset);
  out += " " + field("unique_bytes", offset - queued_bytes);
  out += " " + field("retransmitted_bytes", lost.total * mean_fragment);
  out += " " + field("fragments_sent", fragments);
  out += " " + field("retransmitted_commands", lost.total);
  out += " " + field("timeout_share", 1.0);
  say(out);
  enet_peer_disconnect(peer, 0);
  auto t = clock_type::now();
  while (!gone && since(t) < 1.0)
    service(10);
  if (!gone)
    enet_peer_reset(peer);
  return 0;
}

} // namespace crust::bench::netns
