#pragma once

#include "crust/transport/rudp/rtt_estimator.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace crust::rudp {

/// What one incoming ACK newly acknowledged, with the delivery-rate sample of
/// draft-cheng-iccrg-delivery-rate-estimation taken from its newest packet.
struct ack_sample {
  time_point now;
  /// Bytes newly acknowledged by this ACK (in-flight packets only).
  size_t acked_bytes = 0;
  /// Send time of the newest packet newly acknowledged.
  time_point largest_acked_sent_time;
  /// Bytes delivered over the connection's life, this ACK included.
  uint64_t delivered = 0;
  /// `delivered` when the newest newly acknowledged packet was sent: a round
  /// trip ends once this passes the value recorded at the round's start.
  uint64_t prior_delivered = 0;
  /// Delivery rate in bytes per second, 0 when there is no valid sample.
  double delivery_rate = 0;
  /// The sample was taken while the sender had nothing to send: it may
  /// understate the path.
  bool app_limited = false;
  /// Bytes in flight after this ACK.
  size_t bytes_in_flight = 0;
  /// The RTT sample this ACK gave (peer's ack delay not subtracted), zero
  /// when it gave none.
  duration rtt_sample{0};
};

/// Congestion control behind one interface, so that the engine does not care
/// which algorithm runs: NewReno (loss-based, RFC 9002 section 7) or the
/// loss-tolerant, model-based one (after BBR). All sizes in bytes.
class congestion_controller {
public:
  virtual ~congestion_controller() = default;

  virtual std::string_view name() const noexcept = 0;

  /// A packet counted in flight left.
  virtual void
  on_packet_sent(time_point now, size_t bytes, size_t bytes_in_flight)
    = 0;

  virtual void on_ack(const ack_sample& sample, const rtt_estimator& rtt) = 0;

  /// Packets were declared lost; `largest_lost_sent_time` is the send time
  /// of the newest of them.
  virtual void on_loss(time_point now, time_point largest_lost_sent_time,
                       size_t lost_bytes, size_t bytes_in_flight)
    = 0;

  /// Every packet over a long period was lost (RFC 9002 section 7.6).
  virtual void on_persistent_congestion(time_point now) = 0;

  /// Bytes that may be in flight.
  virtual size_t window() const noexcept = 0;

  /// Pacing rate in bytes per second.
  virtual double pacing_rate(const rtt_estimator& rtt) const noexcept = 0;
};

enum class congestion_algorithm : uint8_t {
  /// Halves the window on loss: fair to TCP, collapses under random loss.
  new_reno,
  /// Paces at the measured bottleneck bandwidth and ignores isolated random
  /// loss (the 5 % loss target needs it).
  loss_tolerant,
};

std::string_view to_string(congestion_algorithm x) noexcept;

/// A fresh controller for packets of at most `max_datagram` bytes.
std::unique_ptr<congestion_controller>
make_congestion_controller(congestion_algorithm algorithm, size_t max_datagram);

/// RFC 9002 section 7.2: min(10 * max_datagram, max(14720, 2 *
/// max_datagram)).
size_t initial_window(size_t max_datagram) noexcept;

} // namespace crust::rudp
