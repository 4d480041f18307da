#include "crust/transport/rudp/connection_config.hpp"

#include "crust/transport/rudp/packet_format.hpp"
#include "crust/transport/rudp/send_stream.hpp"

#include <string>

namespace crust::rudp {

namespace {

failure invalid(std::string what) {
  return {errc::invalid_config, std::move(what)};
}

} // namespace

status validate(const connection_config& cfg) {
  if (auto st = codec::validate(cfg.queue); !st)
    return st;
  if (cfg.queue.max_message_size > UINT32_MAX)
    return invalid("rUDP messages are limited to 2^32 - 1 bytes");
  if (cfg.receive_window < cfg.queue.max_message_size + message_header_len
      || cfg.receive_window < initial_flow_credit)
    return invalid("receive_window must hold one maximum message and "
                   "its header, and at least the initial flow credit");
  if (cfg.base_mtu < 1200 || cfg.max_mtu < cfg.base_mtu || cfg.max_mtu > 65527)
    return invalid("MTUs must satisfy 1200 <= base_mtu <= max_mtu <= 65527");
  if (cfg.initial_rtt <= duration::zero()
      || cfg.max_ack_delay < duration::zero() || cfg.ack_every == 0)
    return invalid("initial_rtt must be positive, max_ack_delay not "
                   "negative, ack_every at least 1");
  if (cfg.keepalive_interval <= duration::zero()
      || cfg.idle_timeout <= cfg.keepalive_interval
      || cfg.handshake_timeout <= duration::zero())
    return invalid("timeouts must be positive and the idle timeout longer "
                   "than the keepalive interval");
  if (cfg.pacing_burst_packets == 0 || cfg.pacing_burst_time < duration::zero())
    return invalid("pacing_burst_packets must be at least 1 and "
                   "pacing_burst_time not negative");
  return {};
}

} // namespace crust::rudp
