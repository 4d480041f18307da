#include "crust/transport/rudp/loss_tolerant_controller.hpp"

#include <algorithm>

namespace crust::rudp {

namespace {

/// 2/ln(2): startup doubles the sending rate every round trip (BBR).
constexpr double startup_gain = 2.885;

/// Probe-bandwidth pacing gains, one phase per minimum RTT (BBR).
constexpr std::array<double, 8> cycle_gains{1.25, 0.75, 1, 1, 1, 1, 1, 1};

constexpr double probe_window_gain = 2.0;

double seconds(duration d) noexcept {
  return std::chrono::duration<double>(d).count();
}

} // namespace

loss_tolerant_controller::loss_tolerant_controller(size_t max_datagram) noexcept
  : max_datagram_(max_datagram), window_(initial_window(max_datagram)),
    pacing_gain_(startup_gain), window_gain_(startup_gain) {
  // nop
}

double loss_tolerant_controller::bandwidth() const noexcept {
  return *std::max_element(round_max_.begin(), round_max_.end());
}

double loss_tolerant_controller::bdp(const rtt_estimator& rtt) const noexcept {
  return bandwidth() * seconds(rtt.min());
}

void loss_tolerant_controller::on_packet_sent(time_point, size_t, size_t) {
  // nop: the model is fed by acknowledgements.
}

void loss_tolerant_controller::start_round(uint64_t delivered) noexcept {
  ++round_;
  round_end_delivered_ = delivered;
  round_max_[round_ % bandwidth_rounds] = 0;
  // Heavy loss in the round that just ended: the bottleneck's queue
  // overflows, so believe a lower bandwidth (BBRv2's reaction, simplified).
  auto total = round_acked_ + round_lost_;
  if (total > 0
      && static_cast<double>(round_lost_)
           > high_loss_ratio * static_cast<double>(total)) {
    for (auto& x : round_max_)
      x *= 0.85;
  }
  round_acked_ = 0;
  round_lost_ = 0;
}

void loss_tolerant_controller::on_ack(const ack_sample& sample,
                                      const rtt_estimator& rtt) {
  round_acked_ += sample.acked_bytes;
  bool round_ended = sample.prior_delivered >= round_end_delivered_;
  if (round_ended) {
    // Judge startup at the end of each round, before the new one begins.
    if (phase_ == phase::startup) {
      auto bw = bandwidth();
      if (bw >= full_bandwidth_ * 1.25) {
        full_bandwidth_ = bw;
        rounds_without_growth_ = 0;
      } else if (++rounds_without_growth_ >= 3) {
        phase_ = phase::drain;
        pacing_gain_ = 1 / startup_gain;
        window_gain_ = startup_gain;
      }
    }
    start_round(sample.delivered);
  }
  if (sample.delivery_rate > 0
      && (!sample.app_limited || sample.delivery_rate > bandwidth())) {
    auto& slot = round_max_[round_ % bandwidth_rounds];
    slot = std::max(slot, sample.delivery_rate);
  }
  if (phase_ == phase::drain
      && static_cast<double>(sample.bytes_in_flight) <= bdp(rtt)) {
    phase_ = phase::probe_bw;
    cycle_index_ = 0;
    cycle_start_ = sample.now;
    pacing_gain_ = cycle_gains[0];
    window_gain_ = probe_window_gain;
  }
  if (phase_ == phase::probe_bw && sample.now - cycle_start_ >= rtt.min()) {
    cycle_index_ = (cycle_index_ + 1) % cycle_gains.size();
    cycle_start_ = sample.now;
    pacing_gain_ = cycle_gains[cycle_index_];
  }
  update_window(rtt);
}

void loss_tolerant_controller::update_window(
  const rtt_estimator& rtt) noexcept {
  auto target = window_gain_ * bdp(rtt);
  auto floor = static_cast<double>(4 * max_datagram_);
  if (bandwidth() <= 0)
    target = static_cast<double>(initial_window(max_datagram_));
  window_ = static_cast<size_t>(std::max(target, floor));
}

void loss_tolerant_controller::on_loss(time_point, time_point,
                                       size_t lost_bytes, size_t) {
  round_lost_ += lost_bytes;
}

void loss_tolerant_controller::on_persistent_congestion(time_point) {
  // The path may have changed entirely: measure it again from scratch.
  round_max_.fill(0);
  full_bandwidth_ = 0;
  rounds_without_growth_ = 0;
  phase_ = phase::startup;
  pacing_gain_ = startup_gain;
  window_gain_ = startup_gain;
  window_ = 4 * max_datagram_;
}

double
loss_tolerant_controller::pacing_rate(const rtt_estimator& rtt) const noexcept {
  auto bw = bandwidth();
  if (bw <= 0) {
    // No sample yet: the initial window per smoothed RTT, times the gain.
    auto srtt = std::max(seconds(rtt.smoothed()), 1e-3);
    return pacing_gain_ * static_cast<double>(window_) / srtt;
  }
  return pacing_gain_ * bw;
}

} // namespace crust::rudp
