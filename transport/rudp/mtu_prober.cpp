#include "crust/transport/rudp/mtu_prober.hpp"

namespace crust::rudp {

mtu_prober::mtu_prober(size_t base, size_t max, bool enabled) noexcept
  : current_(base), high_(max), probe_(max), done_(!enabled || max <= base) {
  // nop
}

std::optional<size_t> mtu_prober::wanted() const noexcept {
  if (done_ || in_flight_)
    return std::nullopt;
  return probe_;
}

void mtu_prober::on_probe_sent(size_t size) noexcept {
  if (size == probe_)
    in_flight_ = true;
}

void mtu_prober::on_probe_acked(size_t size) noexcept {
  if (size != probe_ || done_)
    return;
  in_flight_ = false;
  current_ = size;
  failures_ = 0;
  next_step();
}

void mtu_prober::on_probe_lost(size_t size) noexcept {
  if (size != probe_ || done_)
    return;
  in_flight_ = false;
  if (++failures_ < max_failures)
    return; // try the same size again: one loss may be noise
  failures_ = 0;
  high_ = size - 1;
  next_step();
}

void mtu_prober::next_step() noexcept {
  if (high_ <= current_ || high_ - current_ < resolution) {
    done_ = true;
    return;
  }
  probe_ = current_ + (high_ - current_ + 1) / 2;
}

} // namespace crust::rudp
