#pragma once

#include "crust/transport/codec/send_queue.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <vector>

/// The reference model that the send_queue suite and its fuzz target check
/// the queue against: written from the rule, not from the implementation.
namespace crust::test {

using namespace std::chrono_literals;
using codec::drop_report;
using codec::min_droppable_priority;
using codec::priority;
using codec::priority_count;
using codec::queued_message;
using codec::send_queue_config;
using codec::time_point;

/// The original's queue: a map of FIFOs, scanned naively; time clamped so
/// that it never goes back, as the queue documents.
struct send_queue_model {
  struct item {
    byte_buffer payload;
    time_point at;
  };

  send_queue_config cfg;
  std::map<priority, std::deque<item>> lanes;
  uint64_t dropped_messages = 0;
  uint64_t dropped_bytes = 0;
  time_point latest = time_point::min();

  size_t bytes() const {
    size_t n = 0;
    for (auto& [p, q] : lanes)
      for (auto& x : q)
        n += x.payload.size();
    return n;
  }

  size_t size() const {
    size_t n = 0;
    for (auto& [p, q] : lanes)
      n += q.size();
    return n;
  }

  errc push(priority p, const byte_buffer& m, time_point now) {
    if (m.size() > cfg.max_message_size)
      return errc::message_too_large;
    if (bytes() + m.size() > cfg.max_bytes)
      return errc::queue_full;
    latest = std::max(latest, now);
    lanes[p].push_back({m, latest});
    return errc::none;
  }

  /// Adds what the drop rule drops at `now` to `out`.
  void expire(time_point now, drop_report& out) {
    latest = std::max(latest, now);
    bool dropping = false;
    for (auto& [p, q] : lanes) {
      if (q.empty() || p < min_droppable_priority)
        continue;
      if (!dropping && latest - q.front().at > cfg.expiry)
        dropping = true;
      if (!dropping)
        continue;
      size_t n = 0;
      for (auto& x : q)
        n += x.payload.size();
      out.add(p, q.size(), n);
      dropped_messages += q.size();
      dropped_bytes += n;
      q.clear();
    }
  }

  drop_report expire(time_point now) {
    drop_report out;
    expire(now, out);
    return out;
  }

  std::optional<queued_message> pop(time_point now, drop_report& dropped) {
    expire(now, dropped);
    for (auto& [p, q] : lanes) {
      if (q.empty())
        continue;
      queued_message out{p, std::move(q.front().payload), q.front().at};
      q.pop_front();
      return out;
    }
    return std::nullopt;
  }

  drop_report clear() {
    drop_report out;
    for (auto& [p, q] : lanes) {
      size_t n = 0;
      for (auto& x : q)
        n += x.payload.size();
      out.add(p, q.size(), n);
      dropped_messages += q.size();
      dropped_bytes += n;
      q.clear();
    }
    return out;
  }

  std::optional<time_point> next_expiry() const {
    std::optional<time_point> oldest;
    for (auto& [p, q] : lanes)
      if (p >= min_droppable_priority && !q.empty())
        oldest = oldest ? std::min(*oldest, q.front().at) : q.front().at;
    if (!oldest)
      return std::nullopt;
    return *oldest + cfg.expiry + 1ns;
  }

  std::vector<priority_count> queued() const {
    std::vector<priority_count> out;
    for (auto& [p, q] : lanes) {
      if (q.empty())
        continue;
      priority_count c{p, q.size(), 0};
      for (auto& x : q)
        c.bytes += x.payload.size();
      out.push_back(c);
    }
    return out;
  }
};

} // namespace crust::test
