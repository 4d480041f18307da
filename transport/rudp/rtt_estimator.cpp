#include "crust/transport/rudp/rtt_estimator.hpp"

#include <algorithm>

namespace crust::rudp {

rtt_estimator::rtt_estimator(duration initial_rtt) noexcept
  : latest_(initial_rtt), smoothed_(initial_rtt), variation_(initial_rtt / 2),
    min_(initial_rtt) {
  // nop
}

void rtt_estimator::on_sample(duration latest, duration ack_delay) noexcept {
  if (latest <= duration::zero())
    latest = duration{1};
  latest_ = latest;
  if (!has_sample_) {
    has_sample_ = true;
    min_ = latest;
    smoothed_ = latest;
    variation_ = latest / 2;
    return;
  }
  min_ = std::min(min_, latest);
  auto adjusted = latest;
  if (latest >= min_ + ack_delay)
    adjusted = latest - ack_delay;
  auto diff = smoothed_ > adjusted ? smoothed_ - adjusted
                                   : adjusted - smoothed_;
  variation_ = (variation_ * 3 + diff) / 4;
  smoothed_ = (smoothed_ * 7 + adjusted) / 8;
}

duration rtt_estimator::pto(duration max_ack_delay) const noexcept {
  return smoothed_ + std::max(variation_ * 4, granularity) + max_ack_delay;
}

} // namespace crust::rudp
