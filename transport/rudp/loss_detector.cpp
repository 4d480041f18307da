#include "crust/transport/rudp/loss_detector.hpp"

#include <algorithm>
#include <utility>

namespace crust::rudp {

loss_detector::loss_detector(duration initial_rtt,
                             duration max_ack_delay) noexcept
  : rtt_(initial_rtt), max_ack_delay_(max_ack_delay) {
  // nop
}

void loss_detector::on_sent(sent_packet pkt, bool app_limited) {
  if (!delivered_started_) {
    delivered_started_ = true;
    delivered_time_ = pkt.sent_time;
    first_sent_time_ = pkt.sent_time;
  }
  if (pkt.in_flight) {
    if (bytes_in_flight_ == 0) {
      // Nothing in flight: the rate sample restarts from here.
      first_sent_time_ = pkt.sent_time;
      delivered_time_ = pkt.sent_time;
    }
    pkt.delivered = delivered_;
    pkt.delivered_time = delivered_time_;
    pkt.first_sent_time = first_sent_time_;
    pkt.app_limited = app_limited;
    bytes_in_flight_ += pkt.size;
  }
  if (pkt.ack_eliciting) {
    last_ack_eliciting_sent_ = pkt.sent_time;
    ++ack_eliciting_outstanding_;
  }
  sent_.push_back(std::move(pkt));
}

void loss_detector::settle(sent_packet& pkt) {
  pkt.settled = true;
  if (pkt.in_flight)
    bytes_in_flight_ -= pkt.size;
  if (pkt.ack_eliciting)
    --ack_eliciting_outstanding_;
}

duration loss_detector::loss_delay() const noexcept {
  // RFC 9002 section 6.1.2: 9/8 of the larger of smoothed and latest RTT.
  auto base = std::max(rtt_.smoothed(), rtt_.latest());
  return std::max(base * 9 / 8, rtt_estimator::granularity);
}

loss_result loss_detector::on_ack(const ack_frame& ack, time_point now) {
  loss_result out;
  if (ack.ranges.empty() || sent_.empty())
    return out;
  sent_packet* newest = nullptr;
  size_t acked_bytes = 0;
  // Only ack-eliciting packets are tracked, so numbers have gaps: walk
  // the tracked packets inside each range.
  for (const auto& r : ack.ranges) {
    auto it = std::lower_bound(sent_.begin(), sent_.end(), r.low,
                               [](const sent_packet& p, uint64_t n) {
                                 return p.number < n;
                               });
    for (; it != sent_.end() && it->number <= r.high; ++it) {
      auto* pkt = &*it;
      if (pkt->settled)
        continue;
      settle(*pkt);
      if (pkt->in_flight) {
        acked_bytes += pkt->size;
        delivered_ += pkt->size;
        delivered_time_ = now;
      }
      if (newest == nullptr || pkt->number > newest->number)
        newest = pkt;
      // The settled record keeps its number, time and rate state; what it
      // carried moves to the caller.
      out.acked.push_back(std::move(*pkt));
      pkt->ranges.clear();
    }
  }
  // A claim beyond the newest tracked packet is believed only as far as
  // that packet: numbers never sent cannot have been received.
  auto largest = std::min(ack.ranges.front().high, sent_.back().number);
  if (ack.ranges.front().low <= largest)
    largest_acked_ = std::max(largest_acked_.value_or(0), largest);
  if (newest != nullptr) {
    pto_count_ = 0;
    ack_sample s;
    if (newest->number == ack.ranges.front().high && newest->ack_eliciting) {
      auto delay = std::min(duration{std::chrono::microseconds{
                              std::min<uint64_t>(ack.delay_us, 1u << 30)}},
                            max_ack_delay_);
      rtt_.on_sample(now - newest->sent_time, delay);
      s.rtt_sample = rtt_.latest();
    }
    s.now = now;
    s.acked_bytes = acked_bytes;
    s.largest_acked_sent_time = newest->sent_time;
    s.delivered = delivered_;
    s.prior_delivered = newest->delivered;
    s.app_limited = newest->app_limited;
    if (newest->in_flight) {
      auto send_elapsed = newest->sent_time - newest->first_sent_time;
      auto ack_elapsed = now - newest->delivered_time;
      auto interval = std::max(send_elapsed, ack_elapsed);
      first_sent_time_ = newest->sent_time;
      if (interval >= rtt_.min() / 2 && interval > duration::zero())
        s.delivery_rate = static_cast<double>(delivered_ - newest->delivered)
                          / std::chrono::duration<double>(interval).count();
    }
    out.sample = s;
  }
  collect_lost(now, out);
  if (out.sample)
    out.sample->bytes_in_flight = bytes_in_flight_;
  pop_settled();
  return out;
}

loss_result loss_detector::detect_lost(time_point now) {
  loss_result out;
  collect_lost(now, out);
  pop_settled();
  return out;
}

void loss_detector::collect_lost(time_point now, loss_result& out) {
  if (!largest_acked_)
    return;
  auto delay = loss_delay();
  for (auto& pkt : sent_) {
    if (pkt.number >= *largest_acked_)
      break;
    if (pkt.settled)
      continue;
    if (pkt.sent_time + delay <= now
        || *largest_acked_ - pkt.number >= packet_threshold) {
      settle(pkt);
      if (pkt.in_flight) {
        out.lost_bytes += pkt.size;
        out.largest_lost_sent_time = pkt.sent_time;
      }
      out.lost.push_back(std::move(pkt));
    }
  }
}

void loss_detector::pop_settled() {
  while (!sent_.empty() && sent_.front().settled)
    sent_.pop_front();
}

std::optional<time_point> loss_detector::next_timer() const {
  if (largest_acked_) {
    auto delay = loss_delay();
    for (const auto& pkt : sent_) {
      if (pkt.number >= *largest_acked_)
        break;
      if (!pkt.settled)
        return pkt.sent_time + delay;
    }
  }
  if (ack_eliciting_outstanding_ == 0 || !last_ack_eliciting_sent_)
    return std::nullopt;
  return *last_ack_eliciting_sent_ + pto_interval();
}

bool loss_detector::pto_due(time_point) const {
  if (largest_acked_)
    for (const auto& pkt : sent_) {
      if (pkt.number >= *largest_acked_)
        break;
      if (!pkt.settled)
        return false;
    }
  return true;
}

duration loss_detector::pto_interval() const noexcept {
  return rtt_.pto(max_ack_delay_) * (int64_t{1} << std::min(pto_count_, 16u));
}

const sent_packet* loss_detector::oldest_unacked() const noexcept {
  for (const auto& pkt : sent_)
    if (!pkt.settled && pkt.ack_eliciting && !pkt.ranges.empty())
      return &pkt;
  return nullptr;
}

} // namespace crust::rudp
