#pragma once

#include "crust/messages/expected.hpp"
#include "crust/transport/codec/send_queue.hpp"
#include "crust/transport/noise/channel_handshake.hpp"
#include "crust/transport/rudp/congestion_controller.hpp"
#include "crust/transport/rudp/packet_protection.hpp"
#include "crust/transport/rudp/rtt_estimator.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace crust::rudp {

/// Stream bytes either side may send before the peer's first MAX_DATA: a
/// protocol constant, so that no transport parameters need exchanging.
constexpr uint64_t initial_flow_credit = 256 * 1024;

/// How one rUDP connection behaves. Defaults suit the public Internet.
struct connection_config {
  /// Role, keys, network name and expected peer id of the secure channel.
  noise::channel_config channel;
  /// Our connection id (the destination id of every packet the peer sends
  /// us); 0 draws a random one.
  uint64_t local_id = 0;
  /// Priorities, byte limit, maximum message size (default 2 MiB) and the
  /// drop rule, as on TCP connections.
  codec::send_queue_config queue;
  /// Stream bytes the peer may send beyond what we delivered in order: at
  /// least one maximum message plus its header.
  size_t receive_window = size_t{4} * 1024 * 1024;
  congestion_algorithm congestion = congestion_algorithm::loss_tolerant;
  /// Datagram sizes (UDP payload): every path starts at `base_mtu` and
  /// probes up to `max_mtu` when `mtu_probing` is on.
  size_t base_mtu = 1200;
  size_t max_mtu = 1452;
  bool mtu_probing = true;
  /// The RTT assumed before the first sample (RFC 9002 says 333 ms; crust
  /// mostly dials peers it learnt about from nearby nodes).
  duration initial_rtt = std::chrono::milliseconds{100};
  /// How long we may hold back an ACK (and tell the peer so).
  duration max_ack_delay = std::chrono::milliseconds{10};
  /// Acknowledge at once after this many ack-eliciting packets.
  unsigned ack_every = 2;
  /// A PING goes out after this long without sending anything that must be
  /// acknowledged; well under the 30 s that common NATs keep UDP mappings.
  duration keepalive_interval = std::chrono::seconds{15};
  /// The connection fails with `peer_silent` after this long without an
  /// authenticated packet.
  duration idle_timeout = std::chrono::seconds{45};
  /// The handshake fails with `handshake_timeout` after this long.
  duration handshake_timeout = std::chrono::seconds{10};
  /// Packets the pacer lets out back to back, or more at high rates: as
  /// much as leaves in `pacing_burst_time` at the pacing rate (a timer
  /// fires no finer than about a millisecond, so a smaller burst would cap
  /// the rate at burst / timer latency, as Linux TCP sizes its bursts to
  /// about 1 ms of data).
  size_t pacing_burst_packets = 10;
  duration pacing_burst_time = std::chrono::milliseconds{1};
  /// Builds the packet protection from the handshake keys; empty means
  /// `make_aead_protection` (only the engine fuzz target sets it).
  protection_factory protection;
};

/// Fails with `invalid_config` unless the values make sense together.
status validate(const connection_config& cfg);

} // namespace crust::rudp
