#pragma once

#include "crust/messages/expected.hpp"
#include "crust/transport/byte_span.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace crust::codec {

/// Priority of an outgoing message: lower numbers are more urgent (0 is the
/// most urgent, as heartbeats in the original Crust).
using priority = uint8_t;

/// The clock whose time points the queue is given (it never reads a clock).
using time_point = std::chrono::steady_clock::time_point;

/// Priorities below this are never dropped, however old (original Crust).
constexpr priority min_droppable_priority = 2;

/// Limits of one connection's send queue.
struct send_queue_config {
  /// Upper bound on the payload bytes of all queued messages together.
  size_t max_bytes = size_t{32} * 1024 * 1024;
  /// Largest single message (default 2 MiB, as the original Crust).
  size_t max_message_size = size_t{2} * 1024 * 1024;
  /// A queue of priority >= `min_droppable_priority` whose oldest message
  /// has waited longer than this is dropped, with every less urgent queue.
  std::chrono::nanoseconds expiry = std::chrono::seconds{60};
};

/// Fails with `invalid_config` unless the limits make sense: a non-zero
/// maximum message size that fits into `max_bytes`, a positive expiry. The
/// queue behaves consistently with any configuration; this is for the actor
/// to reject a misconfiguration up front.
status validate(const send_queue_config& cfg);

/// A message taken off the queue.
struct queued_message {
  priority prio = 0;
  byte_buffer payload;
  /// When it was pushed.
  time_point enqueued;
};

/// Messages and payload bytes of one priority.
struct priority_count {
  priority prio = 0;
  size_t messages = 0;
  size_t bytes = 0;
};

inline bool operator==(const priority_count& x,
                       const priority_count& y) noexcept {
  return x.prio == y.prio && x.messages == y.messages && x.bytes == y.bytes;
}

inline bool operator!=(const priority_count& x,
                       const priority_count& y) noexcept {
  return !(x == y);
}

/// What the queue dropped, per priority, so that the sender can be told
/// ("nothing is silently lost").
struct drop_report {
  /// One entry per priority that lost messages, most urgent first, none
  /// with zero messages.
  std::vector<priority_count> dropped;

  bool empty() const noexcept {
    return dropped.empty();
  }

  /// Messages dropped over all priorities.
  size_t messages() const noexcept;

  /// Payload bytes dropped over all priorities.
  size_t bytes() const noexcept;

  /// Adds `messages` and `bytes` to the entry of `prio`, keeping the order.
  void add(priority prio, size_t messages, size_t bytes);
};

/// E.g. "dropped 3 messages (300 bytes): 1 of priority 2 (100 bytes), 2 of
/// priority 5 (200 bytes)"; "nothing dropped" if empty.
std::string to_string(const drop_report& report);

/// One connection's outgoing messages, sans-I/O: a FIFO per priority, drained
/// most urgent first, bounded in bytes, with the original Crust's drop rule.
///
/// Drop rule: walking the priorities from most to least urgent, skipping
/// those below `min_droppable_priority`, the first queue whose oldest message
/// has waited longer than the expiry is dropped together with every less
/// urgent queue (the connection is too slow for them). `pop` applies the rule
/// before taking a message; `next_expiry` says when to apply it next.
///
/// Time never goes back for the queue: a `now` earlier than the latest one
/// it was given counts as that one (a steady clock never does this; the
/// clamp keeps every FIFO in time order whatever the caller passes).
///
/// Push and pop are O(1) amortised: the most urgent non-empty priority is a
/// bit scan, and the drop rule looks at the non-empty queues (at most 254)
/// only once `now` passes a lower bound of the next deadline; such a look
/// either drops messages or makes the bound exact. `next_expiry` always looks
/// at the non-empty droppable queues.
class send_queue {
public:
  explicit send_queue(send_queue_config cfg = {});

  send_queue(send_queue&&) noexcept = default;
  send_queue& operator=(send_queue&&) noexcept = default;

  /// Queues `msg` at `prio`, stamped with `now`. Refuses with
  /// `message_too_large` above the maximum message size and with
  /// `queue_full` if the byte limit would be exceeded (sizes in the detail);
  /// on refusal nothing changes and `msg` is left as it was, so that the
  /// caller can report it or retry after `expire` or `pop` made room.
  status push(priority prio, byte_buffer&& msg, time_point now);

  /// Applies the drop rule at `now`, adding what it dropped to `dropped`,
  /// then takes the oldest message of the most urgent non-empty priority.
  std::optional<queued_message> pop(time_point now, drop_report& dropped);

  /// Applies the drop rule at `now` and reports what it dropped.
  drop_report expire(time_point now);

  /// The first instant at which `expire` would drop something, or none while
  /// only never-dropped priorities hold messages. Arm the timer for it; if
  /// pushes since the last `pop` or `expire` passed it, it is due already.
  std::optional<time_point> next_expiry() const;

  /// Drops everything, priorities 0 and 1 included (the connection is gone),
  /// and reports it.
  drop_report clear();

  /// Messages queued.
  size_t size() const noexcept {
    return size_;
  }

  /// Messages queued at `prio`.
  size_t size(priority prio) const noexcept;

  /// Payload bytes queued.
  size_t bytes() const noexcept {
    return bytes_;
  }

  /// Payload bytes queued at `prio`.
  size_t bytes(priority prio) const noexcept;

  bool empty() const noexcept {
    return size_ == 0;
  }

  /// Messages and bytes per non-empty priority, most urgent first.
  std::vector<priority_count> queued() const;

  /// Messages dropped by expiry or `clear` since construction.
  uint64_t dropped_messages() const noexcept {
    return dropped_messages_;
  }

  /// Payload bytes dropped by expiry or `clear` since construction.
  uint64_t dropped_bytes() const noexcept {
    return dropped_bytes_;
  }

  const send_queue_config& config() const noexcept {
    return cfg_;
  }

private:
  struct entry {
    entry(byte_buffer&& bytes, time_point at) noexcept
      : payload(std::move(bytes)), enqueued(at) {
      // nop
    }

    byte_buffer payload;
    time_point enqueued;
  };

  /// The FIFO of one priority; kept when it drains, so that a busy
  /// connection does not reallocate its deques after every burst.
  struct lane {
    explicit lane(priority p) : prio(p) {
      // nop
    }

    priority prio;
    std::deque<entry> messages;
    size_t bytes = 0;
  };

  /// One bit per priority: set while its lane holds messages.
  using lane_mask = std::array<uint64_t, 4>;

  /// The lane of `prio`, or null if it was never used.
  lane* find(priority prio) const noexcept;

  lane& find_or_add(priority prio);

  /// The most urgent non-empty priority at or after `from`, if any.
  std::optional<priority> next_busy(unsigned from) const noexcept;

  bool has_droppable() const noexcept;

  /// Records `now` and returns the latest time seen so far.
  time_point advance(time_point now) noexcept;

  void set_busy(priority prio, bool busy) noexcept;

  /// Empties `ln` into `report` and the totals.
  void drop_lane(lane& ln, drop_report& report);

  /// The drop rule; adds to `report`.
  void apply_expiry(time_point now, drop_report& report);

  send_queue_config cfg_;
  /// Lanes created so far, sorted by priority; at most 256.
  std::vector<std::unique_ptr<lane>> lanes_;
  lane_mask busy_{};
  size_t size_ = 0;
  size_t bytes_ = 0;
  /// No droppable message was enqueued before this; pops only make it more
  /// conservative, so the rescan waits until `now` passes it.
  time_point oldest_droppable_bound_;
  /// The latest `now` given to a successful push, pop or expire.
  time_point latest_ = time_point::min();
  uint64_t dropped_messages_ = 0;
  uint64_t dropped_bytes_ = 0;
};

} // namespace crust::codec
