#include "crust/transport/rudp/pacer.hpp"

#include <algorithm>
#include <cmath>

namespace crust::rudp {

void pacer::configure(double rate, size_t burst) noexcept {
  rate_ = rate;
  burst_ = static_cast<double>(burst);
}

void pacer::refill(time_point now) noexcept {
  if (!started_) {
    started_ = true;
    last_ = now;
    credit_ = burst_;
    return;
  }
  if (now <= last_)
    return;
  auto elapsed = std::chrono::duration<double>(now - last_).count();
  credit_ = std::min(burst_, credit_ + elapsed * rate_);
  last_ = now;
}

bool pacer::can_send(time_point now, size_t) noexcept {
  refill(now);
  // A packet may leave once the credit is positive; the debt it leaves
  // behind delays the next one.
  return credit_ > 0 || rate_ <= 0;
}

void pacer::on_sent(size_t bytes) noexcept {
  credit_ -= static_cast<double>(bytes);
}

time_point pacer::next_send_time(time_point now, size_t) const noexcept {
  if (!started_ || credit_ > 0 || rate_ <= 0)
    return now;
  // Credit must climb from credit_ to just above zero.
  auto wait = (-credit_ + 1) / rate_;
  auto at = last_
            + std::chrono::duration_cast<duration>(
              std::chrono::duration<double>(wait))
            + duration{1};
  return std::max(at, now);
}

} // namespace crust::rudp
