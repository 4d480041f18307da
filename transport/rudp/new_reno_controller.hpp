#pragma once

#include "crust/transport/rudp/congestion_controller.hpp"

namespace crust::rudp {

/// NewReno as RFC 9002 section 7 and appendix B describe it: slow start,
/// congestion avoidance, one window halving per recovery period, a minimum
/// window of two datagrams after persistent congestion; paced at 1.25 times
/// window per smoothed RTT (section 7.7).
class new_reno_controller final : public congestion_controller {
public:
  explicit new_reno_controller(size_t max_datagram) noexcept;

  std::string_view name() const noexcept override {
    return "new_reno";
  }

  void on_packet_sent(time_point now, size_t bytes,
                      size_t bytes_in_flight) override;
  void on_ack(const ack_sample& sample, const rtt_estimator& rtt) override;
  void on_loss(time_point now, time_point largest_lost_sent_time,
               size_t lost_bytes, size_t bytes_in_flight) override;
  void on_persistent_congestion(time_point now) override;

  size_t window() const noexcept override {
    return window_;
  }

  double pacing_rate(const rtt_estimator& rtt) const noexcept override;

  size_t slow_start_threshold() const noexcept {
    return ssthresh_;
  }

private:
  bool in_recovery(time_point sent_time) const noexcept {
    return has_recovery_ && sent_time <= recovery_start_;
  }

  size_t max_datagram_;
  size_t window_;
  size_t ssthresh_ = SIZE_MAX;
  /// Congestion avoidance grows by one datagram per window acknowledged.
  size_t acked_in_avoidance_ = 0;
  bool has_recovery_ = false;
  time_point recovery_start_;
};

} // namespace crust::rudp
