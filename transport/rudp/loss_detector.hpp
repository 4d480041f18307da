#pragma once

#include "crust/transport/rudp/congestion_controller.hpp"
#include "crust/transport/rudp/packet_format.hpp"
#include "crust/transport/rudp/rtt_estimator.hpp"
#include "crust/transport/rudp/send_stream.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace crust::rudp {

/// What a sent packet carried, to act on its acknowledgement or loss.
struct sent_packet {
  uint64_t number = 0;
  time_point sent_time;
  size_t size = 0;
  bool ack_eliciting = false;
  /// Counted by congestion control (ack-eliciting and not an MTU probe).
  bool in_flight = false;
  bool mtu_probe = false;
  bool carries_max_data = false;
  bool carries_close = false;
  /// The largest packet number its ACK frame acknowledged, if it had one.
  std::optional<uint64_t> acked_up_to;
  std::vector<stream_range> ranges;
  // Delivery-rate state at send time (draft-cheng-iccrg-delivery-rate-
  // estimation section 3.2).
  uint64_t delivered = 0;
  time_point delivered_time;
  time_point first_sent_time;
  bool app_limited = false;
  /// Settled packets wait at the front until everything before them is.
  bool settled = false;
};

/// The outcome of one ACK frame or loss check.
struct loss_result {
  std::vector<sent_packet> acked;
  std::vector<sent_packet> lost;
  /// Set when this ACK produced the congestion controller's sample.
  std::optional<ack_sample> sample;
  size_t lost_bytes = 0;
  time_point largest_lost_sent_time;
};

/// Loss detection after RFC 9002 section 6: one packet-number space; a
/// packet is lost once three later ones are acknowledged or 9/8 RTT passed
/// since a later one was; otherwise a probe timeout (PTO) with exponential
/// backoff asks for an acknowledgement. Keeps the RTT estimate and the
/// delivery-rate sample that congestion control needs.
class loss_detector {
public:
  static constexpr uint64_t packet_threshold = 3;

  loss_detector(duration initial_rtt, duration max_ack_delay) noexcept;

  /// Records a sent ack-eliciting packet (numbers must increase; packets
  /// carrying only ACK and PADDING are not tracked: nobody acknowledges
  /// them).
  void on_sent(sent_packet pkt, bool app_limited);

  /// Processes an ACK frame at `now`. Ranges acknowledging packets never
  /// sent are ignored.
  loss_result on_ack(const ack_frame& ack, time_point now);

  /// Runs the time-threshold check (the loss timer fired) at `now`.
  loss_result detect_lost(time_point now);

  /// When the loss timer or the PTO fires; none when nothing is in flight.
  std::optional<time_point> next_timer() const;

  /// True when the timer firing at `now` is a PTO, not a loss timer.
  bool pto_due(time_point now) const;

  /// The PTO fired: back off. Returns the number of PTOs in a row.
  unsigned on_pto() noexcept {
    return ++pto_count_;
  }

  unsigned pto_count() const noexcept {
    return pto_count_;
  }

  /// The current PTO with backoff.
  duration pto_interval() const noexcept;

  const rtt_estimator& rtt() const noexcept {
    return rtt_;
  }

  /// An RTT sample from outside the packet space (the handshake).
  void on_rtt_sample(duration sample) noexcept {
    rtt_.on_sample(sample, duration::zero());
  }

  size_t bytes_in_flight() const noexcept {
    return bytes_in_flight_;
  }

  /// The oldest unacknowledged ack-eliciting packet, for a probe to resend.
  const sent_packet* oldest_unacked() const noexcept;

  /// The largest packet number the peer acknowledged.
  std::optional<uint64_t> largest_acked() const noexcept {
    return largest_acked_;
  }

  uint64_t delivered() const noexcept {
    return delivered_;
  }

  /// Packets still tracked (unsettled or waiting behind unsettled ones).
  size_t tracked() const noexcept {
    return sent_.size();
  }

private:
  void settle(sent_packet& pkt);
  void collect_lost(time_point now, loss_result& out);
  void pop_settled();
  duration loss_delay() const noexcept;

  rtt_estimator rtt_;
  duration max_ack_delay_;
  std::deque<sent_packet> sent_;
  size_t bytes_in_flight_ = 0;
  std::optional<uint64_t> largest_acked_;
  unsigned pto_count_ = 0;
  std::optional<time_point> last_ack_eliciting_sent_;
  size_t ack_eliciting_outstanding_ = 0;
  // Delivery-rate state of the connection.
  uint64_t delivered_ = 0;
  time_point delivered_time_;
  time_point first_sent_time_;
  bool delivered_started_ = false;
};

} // namespace crust::rudp
