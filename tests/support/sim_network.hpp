#pragma once

// A simulated datagram network with virtual time, for engine suites: two
// one-way links between endpoints 0 and 1, each with random loss,
// duplication, reordering, delay, jitter, a bandwidth limit with a
// tail-drop queue and an MTU. Everything random comes from one seeded
// generator, so a seed replays the same run exactly. Header-only and free of
// CAF: the engine suites link only crust_engines.

#include "crust/transport/byte_span.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <queue>
#include <vector>

namespace crust::test {

using sim_clock = std::chrono::steady_clock;
using sim_time = sim_clock::time_point;
using sim_duration = std::chrono::nanoseconds;

/// A small, fast, well-distributed generator (SplitMix64, Steele, Lea and
/// Flood, OOPSLA 2014) whose output is the same on every platform, unlike
/// the standard distributions.
class sim_random {
public:
  explicit sim_random(uint64_t seed) noexcept : state_(seed) {
    // nop
  }

  uint64_t next() noexcept {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  /// Uniform in [0, 1).
  double unit() noexcept {
    return static_cast<double>(next() >> 11) * 0x1.0p-53;
  }

  /// Uniform in [0, n) (n > 0).
  uint64_t below(uint64_t n) noexcept {
    return next() % n;
  }

  bool chance(double p) noexcept {
    return p > 0 && unit() < p;
  }

private:
  uint64_t state_;
};

/// The impairments of one direction.
struct link_config {
  /// Probability that a datagram is lost (after the bottleneck, like an
  /// nftables drop at the receiver).
  double loss = 0;
  /// Probability that a datagram arrives twice.
  double duplicate = 0;
  /// Probability that a datagram is held back by `reorder_delay` extra.
  double reorder = 0;
  sim_duration reorder_delay = std::chrono::milliseconds{5};
  /// One-way propagation delay.
  sim_duration delay = std::chrono::milliseconds{10};
  /// Extra delay drawn uniformly from [0, jitter] per datagram.
  sim_duration jitter{0};
  /// Bottleneck rate in bytes per second; 0 means unlimited.
  double bandwidth = 0;
  /// Bytes the bottleneck queue holds before it drops (tail drop).
  size_t queue_bytes = 256 * 1024;
  /// Datagrams larger than this are dropped (a path MTU).
  size_t mtu = 65535;
};

/// What one link did.
struct link_stats {
  uint64_t sent = 0;
  uint64_t delivered = 0;
  uint64_t bytes_delivered = 0;
  uint64_t lost = 0;
  uint64_t queue_drops = 0;
  uint64_t mtu_drops = 0;
  uint64_t duplicated = 0;
  uint64_t reordered = 0;
};

/// One direction: datagrams in at send time, out at their arrival time.
class sim_link {
public:
  sim_link(link_config cfg, sim_random& rng) : cfg_(cfg), rng_(&rng) {
    // nop
  }

  void send(const byte_buffer& datagram, sim_time now) {
    ++stats_.sent;
    if (datagram.size() > cfg_.mtu) {
      ++stats_.mtu_drops;
      return;
    }
    auto leaves = now;
    if (cfg_.bandwidth > 0) {
      // Bytes still queued in front of this one, from the time the link
      // needs to finish serialising them.
      auto start = std::max(now, link_free_at_);
      auto backlog = std::chrono::duration<double>(start - now).count()
                     * cfg_.bandwidth;
      if (backlog + static_cast<double>(datagram.size())
          > static_cast<double>(cfg_.queue_bytes)) {
        ++stats_.queue_drops;
        return;
      }
      auto wire = std::chrono::duration<double>(
        static_cast<double>(datagram.size()) / cfg_.bandwidth);
      link_free_at_ = start + std::chrono::duration_cast<sim_duration>(wire);
      leaves = link_free_at_;
    }
    if (rng_->chance(cfg_.loss)) {
      ++stats_.lost;
      return;
    }
    int copies = rng_->chance(cfg_.duplicate) ? 2 : 1;
    if (copies == 2)
      ++stats_.duplicated;
    for (int i = 0; i < copies; ++i) {
      auto at = leaves + cfg_.delay;
      if (cfg_.jitter.count() > 0)
        at += sim_duration{static_cast<int64_t>(
          rng_->below(static_cast<uint64_t>(cfg_.jitter.count()) + 1))};
      if (rng_->chance(cfg_.reorder)) {
        at += cfg_.reorder_delay;
        ++stats_.reordered;
      }
      in_flight_.push({at, seq_++, datagram});
    }
  }

  std::optional<sim_time> next_arrival() const {
    if (in_flight_.empty())
      return std::nullopt;
    return in_flight_.top().at;
  }

  /// Takes the next datagram due at or before `now`.
  bool pop_due(sim_time now, byte_buffer& out) {
    if (in_flight_.empty() || in_flight_.top().at > now)
      return false;
    out = in_flight_.top().bytes;
    in_flight_.pop();
    ++stats_.delivered;
    stats_.bytes_delivered += out.size();
    return true;
  }

  const link_stats& stats() const noexcept {
    return stats_;
  }

  link_config& config() noexcept {
    return cfg_;
  }

private:
  struct datagram_in_flight {
    sim_time at;
    uint64_t seq;
    byte_buffer bytes;

    bool operator>(const datagram_in_flight& other) const noexcept {
      return at != other.at ? at > other.at : seq > other.seq;
    }
  };

  link_config cfg_;
  sim_random* rng_;
  link_stats stats_;
  sim_time link_free_at_{};
  uint64_t seq_ = 0;
  std::priority_queue<datagram_in_flight, std::vector<datagram_in_flight>,
                      std::greater<>>
    in_flight_;
};

/// Two endpoints (0 and 1) and a link each way, on one virtual clock.
class sim_network {
public:
  sim_network(uint64_t seed, link_config forward, link_config backward)
    : rng_(seed), links_{sim_link{forward, rng_}, sim_link{backward, rng_}} {
    // nop
  }

  sim_network(const sim_network&) = delete;
  sim_network& operator=(const sim_network&) = delete;

  /// The link carrying datagrams sent by endpoint `from`.
  sim_link& link_from(int from) noexcept {
    return links_[from];
  }

  sim_time now() const noexcept {
    return now_;
  }

  /// Moves the clock forward (never back).
  void advance_to(sim_time t) noexcept {
    now_ = std::max(now_, t);
  }

  void send(int from, const byte_buffer& datagram) {
    links_[from].send(datagram, now_);
  }

  /// The earliest arrival on either link.
  std::optional<sim_time> next_arrival() const {
    auto a = links_[0].next_arrival();
    auto b = links_[1].next_arrival();
    if (!a)
      return b;
    if (!b)
      return a;
    return std::min(*a, *b);
  }

  /// Takes a datagram due now for endpoint `to`.
  bool receive(int to, byte_buffer& out) {
    return links_[1 - to].pop_due(now_, out);
  }

  sim_random& rng() noexcept {
    return rng_;
  }

private:
  sim_random rng_;
  sim_link links_[2];
  /// An arbitrary epoch far from zero, so that no subtraction underflows.
  sim_time now_ = sim_time{} + std::chrono::hours{1000};
};

} // namespace crust::test
