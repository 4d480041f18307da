#include "crust/transport/rudp/loss_tolerant_controller.hpp"

#include <algorithm>

namespace crust::rudp {

namespace {

/// 2/ln(2): startup doubles the sending rate every round trip (BBR).
constexpr double startup_gain = 2.885;

/// Probe-bandwidth pacing gains, one phase per minimum RTT (BBR).
constexpr std::array<double, 8> cycle_gains{1.25, 0.75, 1, 1, 1, 1, 1, 1};

constexpr double probe_window_gain = 2.0;

/// ACK aggregation counts at most this much time at the estimated
/// bandwidth (BBRv2's 100 ms cap), so one long stall cannot open the
/// window without bound.
constexpr double max_aggregation_seconds = 0.1;

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

double loss_tolerant_controller::extra_acked() const noexcept {
  return *std::max_element(round_extra_.begin(), round_extra_.end());
}

duration loss_tolerant_controller::model_rtt() const noexcept {
  return std::max(min_rtt_, min_model_rtt);
}

double loss_tolerant_controller::bdp() const noexcept {
  return bandwidth() * seconds(model_rtt());
}

double loss_tolerant_controller::probe_rtt_window() const noexcept {
  // Half the model's window, as BBRv2: enough to drain a standing queue
  // without emptying the pipe.
  return std::max(0.5 * bdp(), static_cast<double>(4 * max_datagram_));
}

void loss_tolerant_controller::on_packet_sent(time_point, size_t, size_t) {
  // nop: the model is fed by acknowledgements.
}

void loss_tolerant_controller::start_round(uint64_t delivered) noexcept {
  ++round_;
  round_end_delivered_ = delivered;
  round_max_[round_ % bandwidth_rounds] = 0;
  round_extra_[round_ % bandwidth_rounds] = 0;
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

void loss_tolerant_controller::update_min_rtt(
  const ack_sample& sample, const rtt_estimator& rtt) noexcept {
  if (min_rtt_ <= duration::zero()) {
    if (!rtt.has_sample())
      return;
    // The first window starts from every sample so far (the handshake's
    // included).
    min_rtt_ = rtt.min();
    min_rtt_stamp_ = sample.now;
  }
  bool expired = sample.now > min_rtt_stamp_ + min_rtt_window;
  auto x = sample.rtt_sample;
  if (x > duration::zero() && (x <= min_rtt_ || expired)) {
    min_rtt_ = x;
    min_rtt_stamp_ = sample.now;
  }
  if (expired && phase_ != phase::probe_rtt) {
    phase_ = phase::probe_rtt;
    pacing_gain_ = 1;
    probe_rtt_timing_ = false;
  }
}

void loss_tolerant_controller::update_ack_aggregation(
  const ack_sample& sample) noexcept {
  auto bw = bandwidth();
  if (bw <= 0 || sample.acked_bytes == 0)
    return;
  if (!epoch_started_) {
    epoch_started_ = true;
    epoch_start_ = sample.now;
    epoch_acked_ = 0;
  }
  // BBR's extra_acked: bytes acknowledged in this epoch beyond what the
  // bandwidth explains. An ACK rate that fell back to the estimate starts
  // a new epoch.
  auto expected = bw * seconds(sample.now - epoch_start_);
  if (epoch_acked_ <= expected) {
    epoch_start_ = sample.now;
    epoch_acked_ = 0;
    expected = 0;
  }
  epoch_acked_ += static_cast<double>(sample.acked_bytes);
  auto extra = std::min(epoch_acked_ - expected, bw * max_aggregation_seconds);
  auto& slot = round_extra_[round_ % bandwidth_rounds];
  slot = std::max(slot, extra);
}

void loss_tolerant_controller::enter_probe_bw(time_point now) noexcept {
  phase_ = phase::probe_bw;
  cycle_index_ = 0;
  cycle_start_ = now;
  pacing_gain_ = cycle_gains[0];
  window_gain_ = probe_window_gain;
}

void loss_tolerant_controller::update_probe_rtt(
  const ack_sample& sample) noexcept {
  if (phase_ != phase::probe_rtt)
    return;
  if (!probe_rtt_timing_) {
    // The timer starts once the flight fell to the small window.
    if (static_cast<double>(sample.bytes_in_flight) <= probe_rtt_window()) {
      probe_rtt_timing_ = true;
      probe_rtt_done_ = sample.now + probe_rtt_duration;
      probe_rtt_round_ = round_;
    }
    return;
  }
  if (round_ > probe_rtt_round_ && sample.now >= probe_rtt_done_) {
    min_rtt_stamp_ = sample.now; // measured afresh: valid another window
    probe_rtt_timing_ = false;
    if (full_bandwidth_reached_) {
      enter_probe_bw(sample.now);
    } else {
      phase_ = phase::startup;
      pacing_gain_ = startup_gain;
      window_gain_ = startup_gain;
    }
  }
}

void loss_tolerant_controller::on_ack(const ack_sample& sample,
                                      const rtt_estimator& rtt) {
  round_acked_ += sample.acked_bytes;
  update_min_rtt(sample, rtt);
  bool round_ended = sample.prior_delivered >= round_end_delivered_;
  if (round_ended) {
    // Judge startup at the end of each round, before the new one begins.
    if (phase_ == phase::startup) {
      auto bw = bandwidth();
      if (bw >= full_bandwidth_ * 1.25) {
        full_bandwidth_ = bw;
        rounds_without_growth_ = 0;
      } else if (++rounds_without_growth_ >= 3) {
        full_bandwidth_reached_ = true;
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
  update_ack_aggregation(sample);
  if (phase_ == phase::drain
      && static_cast<double>(sample.bytes_in_flight) <= bdp())
    enter_probe_bw(sample.now);
  if (phase_ == phase::probe_bw && sample.now - cycle_start_ >= model_rtt()) {
    cycle_index_ = (cycle_index_ + 1) % cycle_gains.size();
    cycle_start_ = sample.now;
    pacing_gain_ = cycle_gains[cycle_index_];
  }
  update_probe_rtt(sample);
  update_window();
}

void loss_tolerant_controller::update_window() noexcept {
  auto floor = static_cast<double>(4 * max_datagram_);
  double target = 0;
  if (bandwidth() <= 0)
    target = static_cast<double>(initial_window(max_datagram_));
  else if (phase_ == phase::probe_rtt)
    target = probe_rtt_window();
  else
    target = window_gain_ * bdp() + extra_acked();
  window_ = static_cast<size_t>(std::max(target, floor));
}

void loss_tolerant_controller::on_loss(time_point, time_point,
                                       size_t lost_bytes, size_t) {
  round_lost_ += lost_bytes;
}

void loss_tolerant_controller::on_persistent_congestion(time_point) {
  // The path may have changed entirely: measure it again from scratch.
  round_max_.fill(0);
  round_extra_.fill(0);
  epoch_started_ = false;
  full_bandwidth_ = 0;
  rounds_without_growth_ = 0;
  full_bandwidth_reached_ = false;
  probe_rtt_timing_ = false;
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
