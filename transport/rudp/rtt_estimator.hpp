#pragma once

#include <chrono>

namespace crust::rudp {

using duration = std::chrono::nanoseconds;
using time_point = std::chrono::steady_clock::time_point;

/// Round-trip time estimation after RFC 9002 section 5: the latest sample,
/// the minimum, and the smoothed RTT and its variation (gains 1/8 and 1/4,
/// RFC 6298), with the peer's acknowledgement delay subtracted when that
/// keeps the sample above the minimum.
class rtt_estimator {
public:
  /// Timer granularity (RFC 9002 kGranularity).
  static constexpr duration granularity = std::chrono::milliseconds{1};

  explicit rtt_estimator(duration initial_rtt) noexcept;

  /// A sample from the newest acknowledged packet (if it was ack-eliciting
  /// and newly acknowledged); `ack_delay` is what the peer reported, capped
  /// at `max_ack_delay` by the caller.
  void on_sample(duration latest, duration ack_delay) noexcept;

  bool has_sample() const noexcept {
    return has_sample_;
  }

  duration latest() const noexcept {
    return latest_;
  }

  duration smoothed() const noexcept {
    return smoothed_;
  }

  duration variation() const noexcept {
    return variation_;
  }

  duration min() const noexcept {
    return min_;
  }

  /// The probe timeout without backoff: smoothed + max(4 variation,
  /// granularity) + max_ack_delay (RFC 9002 section 6.2.1).
  duration pto(duration max_ack_delay) const noexcept;

private:
  bool has_sample_ = false;
  duration latest_;
  duration smoothed_;
  duration variation_;
  duration min_;
};

} // namespace crust::rudp
