#pragma once

#include "crust/transport/rudp/congestion_controller.hpp"

#include <array>
#include <cstdint>

namespace crust::rudp {

/// A model-based controller after BBR (Cardwell et al., "BBR: Congestion-
/// Based Congestion Control", ACM Queue 2016; draft-cardwell-iccrg-bbr):
/// it estimates the bottleneck bandwidth (windowed maximum of delivery-rate
/// samples over 10 round trips) and the minimum RTT (over 10 s, refreshed
/// by PROBE_RTT), paces at the bandwidth times a gain and caps the data in
/// flight at twice the bandwidth-delay product plus the ACK aggregation
/// seen. Isolated random losses do not lower the estimate, which is why it
/// keeps most of a lossy path busy; a loss rate above `high_loss_ratio` in a
/// round shrinks the estimate (as BBRv2 does) so that a congested bottleneck
/// is not flooded.
class loss_tolerant_controller final : public congestion_controller {
public:
  /// Losses of more than this share of the bytes in one round count as
  /// congestion rather than noise.
  static constexpr double high_loss_ratio = 0.15;

  /// The minimum RTT estimate expires after this long without a sample as
  /// low (BBR's 10 s); PROBE_RTT then measures it again.
  static constexpr duration min_rtt_window = std::chrono::seconds{10};

  /// PROBE_RTT holds its small window at least this long (BBR's 200 ms).
  static constexpr duration probe_rtt_duration = std::chrono::milliseconds{200};

  /// The bandwidth-delay product uses at least this RTT: a host acts on
  /// its timers and its peer's acknowledgements no finer than the timer
  /// granularity, so a sub-millisecond minimum (loopback, a LAN) seen once
  /// when idle does not hold during a transfer that keeps both ends busy.
  static constexpr duration min_model_rtt = rtt_estimator::granularity;

  explicit loss_tolerant_controller(size_t max_datagram) noexcept;

  std::string_view name() const noexcept override {
    return "loss_tolerant";
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

  /// The bottleneck bandwidth estimate in bytes per second (0 before the
  /// first sample).
  double bandwidth() const noexcept;

  /// The windowed minimum RTT (zero before the first sample).
  duration min_rtt() const noexcept {
    return min_rtt_;
  }

  /// Bytes acknowledged beyond what the bandwidth estimate explains (the
  /// largest over the last rounds): ACKs that arrive in bursts.
  double extra_acked() const noexcept;

  enum class phase : uint8_t { startup, drain, probe_bw, probe_rtt };

  phase current_phase() const noexcept {
    return phase_;
  }

private:
  static constexpr size_t bandwidth_rounds = 10;

  void start_round(uint64_t delivered) noexcept;
  void update_min_rtt(const ack_sample& sample,
                      const rtt_estimator& rtt) noexcept;
  void update_ack_aggregation(const ack_sample& sample) noexcept;
  void update_probe_rtt(const ack_sample& sample) noexcept;
  void enter_probe_bw(time_point now) noexcept;
  void update_window() noexcept;
  duration model_rtt() const noexcept;
  double bdp() const noexcept;
  double probe_rtt_window() const noexcept;

  size_t max_datagram_;
  size_t window_;
  phase phase_ = phase::startup;
  double pacing_gain_;
  double window_gain_;
  /// Max delivery rate per round, a ring over the last rounds.
  std::array<double, bandwidth_rounds> round_max_{};
  /// Max ACK aggregation per round, the same ring.
  std::array<double, bandwidth_rounds> round_extra_{};
  uint64_t round_ = 0;
  uint64_t round_end_delivered_ = 0;
  /// Startup ends once the bandwidth grew by less than 25 % for 3 rounds.
  double full_bandwidth_ = 0;
  unsigned rounds_without_growth_ = 0;
  bool full_bandwidth_reached_ = false;
  /// Probe-bandwidth gain cycle position and when it last advanced.
  size_t cycle_index_ = 0;
  time_point cycle_start_;
  /// Bytes acknowledged and lost in the current round (the loss rate).
  uint64_t round_acked_ = 0;
  uint64_t round_lost_ = 0;
  /// Windowed minimum RTT and when it was last lowered or refreshed.
  duration min_rtt_{0};
  time_point min_rtt_stamp_;
  /// ACK aggregation epoch: its start and the bytes acknowledged since.
  bool epoch_started_ = false;
  time_point epoch_start_;
  double epoch_acked_ = 0;
  /// PROBE_RTT: when it may end (set once the flight fell to its window)
  /// and the round that must end first.
  bool probe_rtt_timing_ = false;
  time_point probe_rtt_done_;
  uint64_t probe_rtt_round_ = 0;
};

} // namespace crust::rudp
