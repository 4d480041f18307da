#pragma once

#include <cstddef>
#include <optional>

namespace crust::rudp {

/// Path MTU discovery in the style of DPLPMTUD (RFC 8899): every path starts
/// at the base size (1200 bytes, which IPv6 and any sane IPv4 path carry);
/// probes are padded, acknowledged packets that congestion control does not
/// count. The largest size is tried first (most paths carry it); after
/// `max_failures` losses at one size the search halves the remaining range,
/// stopping when it is narrower than `resolution`.
class mtu_prober {
public:
  static constexpr unsigned max_failures = 3;
  static constexpr size_t resolution = 8;

  mtu_prober(size_t base, size_t max, bool enabled) noexcept;

  /// The datagram size known to get through.
  size_t current() const noexcept {
    return current_;
  }

  /// The size to probe now, if a probe is due (none while one is out).
  std::optional<size_t> wanted() const noexcept;

  void on_probe_sent(size_t size) noexcept;

  void on_probe_acked(size_t size) noexcept;

  void on_probe_lost(size_t size) noexcept;

  /// True once the search has settled.
  bool done() const noexcept {
    return done_;
  }

private:
  void next_step() noexcept;

  size_t current_;
  /// The largest size that may still work.
  size_t high_;
  size_t probe_ = 0;
  bool in_flight_ = false;
  unsigned failures_ = 0;
  bool done_;
};

} // namespace crust::rudp
