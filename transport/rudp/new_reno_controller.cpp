#include "crust/transport/rudp/new_reno_controller.hpp"

#include "crust/transport/rudp/loss_tolerant_controller.hpp"

#include <algorithm>

namespace crust::rudp {

std::string_view to_string(congestion_algorithm x) noexcept {
  switch (x) {
    case congestion_algorithm::new_reno: return "new_reno";
    case congestion_algorithm::loss_tolerant: return "loss_tolerant";
  }
  return "unknown";
}

size_t initial_window(size_t max_datagram) noexcept {
  return std::min(10 * max_datagram, std::max(size_t{14720}, 2 * max_datagram));
}

std::unique_ptr<congestion_controller>
make_congestion_controller(congestion_algorithm algorithm,
                           size_t max_datagram) {
  if (algorithm == congestion_algorithm::new_reno)
    return std::make_unique<new_reno_controller>(max_datagram);
  return std::make_unique<loss_tolerant_controller>(max_datagram);
}

new_reno_controller::new_reno_controller(size_t max_datagram) noexcept
  : max_datagram_(max_datagram), window_(initial_window(max_datagram)) {
  // nop
}

void new_reno_controller::on_packet_sent(time_point, size_t, size_t) {
  // nop: NewReno reacts to acknowledgements and losses only.
}

void new_reno_controller::on_ack(const ack_sample& sample,
                                 const rtt_estimator&) {
  if (in_recovery(sample.largest_acked_sent_time))
    return;
  // A packet sent after the recovery started was acknowledged: the
  // recovery period is over.
  has_recovery_ = false;
  if (window_ < ssthresh_) {
    window_ += sample.acked_bytes;
    return;
  }
  acked_in_avoidance_ += sample.acked_bytes;
  while (acked_in_avoidance_ >= window_) {
    acked_in_avoidance_ -= window_;
    window_ += max_datagram_;
  }
}

void new_reno_controller::on_loss(time_point now,
                                  time_point largest_lost_sent_time, size_t,
                                  size_t) {
  if (in_recovery(largest_lost_sent_time))
    return; // one reduction per window of data
  has_recovery_ = true;
  recovery_start_ = now;
  ssthresh_ = std::max(window_ / 2, 2 * max_datagram_);
  window_ = ssthresh_;
  acked_in_avoidance_ = 0;
}

void new_reno_controller::on_persistent_congestion(time_point) {
  window_ = 2 * max_datagram_;
  acked_in_avoidance_ = 0;
  has_recovery_ = false;
}

double
new_reno_controller::pacing_rate(const rtt_estimator& rtt) const noexcept {
  auto srtt = std::chrono::duration<double>(rtt.smoothed()).count();
  if (srtt <= 0)
    srtt = 1e-3;
  return 1.25 * static_cast<double>(window_) / srtt;
}

} // namespace crust::rudp
