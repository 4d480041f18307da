#pragma once

#include "crust/transport/rudp/rtt_estimator.hpp"

#include <cstddef>

namespace crust::rudp {

/// A token bucket that spreads packets over time at the congestion
/// controller's rate (RFC 9002 section 7.7), allowing bursts of `burst`
/// bytes so that the caller's timer need not fire for every packet.
class pacer {
public:
  /// Sets the rate (bytes per second) and the largest burst (bytes).
  void configure(double rate, size_t burst) noexcept;

  /// True when a packet of `bytes` may leave at `now`.
  bool can_send(time_point now, size_t bytes) noexcept;

  /// Takes `bytes` of credit (may go negative by one packet).
  void on_sent(size_t bytes) noexcept;

  /// When a packet of `bytes` may leave, given the credit at `now`.
  time_point next_send_time(time_point now, size_t bytes) const noexcept;

  /// True while the credit is used up (the caller must wait).
  bool blocked() const noexcept {
    return started_ && rate_ > 0 && credit_ <= 0;
  }

  /// When the credit turns positive again (only meaningful if `blocked()`).
  time_point release_time() const noexcept {
    return next_send_time(last_, 0);
  }

private:
  void refill(time_point now) noexcept;

  double rate_ = 0;
  double burst_ = 0;
  double credit_ = 0;
  bool started_ = false;
  time_point last_;
};

} // namespace crust::rudp
