#include "crust/transport/codec/send_queue.hpp"

#include <algorithm>

namespace crust::codec {

namespace {

std::string count_of(size_t n, const char* what) {
  auto out = std::to_string(n) + " " + what;
  if (n != 1)
    out += 's';
  return out;
}

/// The smallest age (in clock ticks) that counts as "waited longer than
/// `expiry`".
time_point::duration first_expired_age(std::chrono::nanoseconds expiry) {
  return std::chrono::floor<time_point::duration>(expiry)
         + time_point::duration{1};
}

} // namespace

// -- configuration and reports ------------------------------------------------

status validate(const send_queue_config& cfg) {
  if (cfg.max_message_size == 0)
    return {errc::invalid_config,
            "send queue: the maximum message size must be positive"};
  if (cfg.max_bytes < cfg.max_message_size)
    return {errc::invalid_config,
            "send queue: the byte limit (" + std::to_string(cfg.max_bytes)
              + ") is below the maximum message size ("
              + std::to_string(cfg.max_message_size)
              + "), so a message of the maximum size could never be queued"};
  if (cfg.expiry <= std::chrono::nanoseconds::zero())
    return {errc::invalid_config, "send queue: the expiry must be positive"};
  return {};
}

size_t drop_report::messages() const noexcept {
  size_t total = 0;
  for (auto& x : dropped)
    total += x.messages;
  return total;
}

size_t drop_report::bytes() const noexcept {
  size_t total = 0;
  for (auto& x : dropped)
    total += x.bytes;
  return total;
}

void drop_report::add(priority prio, size_t messages, size_t bytes) {
  if (messages == 0)
    return;
  auto i = std::lower_bound(dropped.begin(), dropped.end(), prio,
                            [](const priority_count& x, priority p) {
                              return x.prio < p;
                            });
  if (i != dropped.end() && i->prio == prio) {
    i->messages += messages;
    i->bytes += bytes;
  } else {
    dropped.insert(i, priority_count{prio, messages, bytes});
  }
}

std::string to_string(const drop_report& report) {
  if (report.empty())
    return "nothing dropped";
  auto out = "dropped " + count_of(report.messages(), "message") + " ("
             + count_of(report.bytes(), "byte") + "):";
  auto sep = " ";
  for (auto& x : report.dropped) {
    out += sep;
    out += std::to_string(x.messages) + " of priority " + std::to_string(x.prio)
           + " (" + count_of(x.bytes, "byte") + ")";
    sep = ", ";
  }
  return out;
}

// -- send_queue: lanes and the busy mask --------------------------------------

send_queue::send_queue(send_queue_config cfg) : cfg_(cfg) {
  // nop
}

send_queue::lane* send_queue::find(priority prio) const noexcept {
  auto i = std::lower_bound(lanes_.begin(), lanes_.end(), prio,
                            [](const std::unique_ptr<lane>& x, priority p) {
                              return x->prio < p;
                            });
  return i != lanes_.end() && (*i)->prio == prio ? i->get() : nullptr;
}

send_queue::lane& send_queue::find_or_add(priority prio) {
  auto i = std::lower_bound(lanes_.begin(), lanes_.end(), prio,
                            [](const std::unique_ptr<lane>& x, priority p) {
                              return x->prio < p;
                            });
  if (i == lanes_.end() || (*i)->prio != prio)
    i = lanes_.insert(i, std::make_unique<lane>(prio));
  return **i;
}

std::optional<priority> send_queue::next_busy(unsigned from) const noexcept {
  for (auto word = from / 64; word < busy_.size(); ++word) {
    auto bits = busy_[word];
    if (word == from / 64)
      bits &= ~uint64_t{0} << (from % 64);
    if (bits != 0)
      return static_cast<priority>(
        word * 64 + static_cast<unsigned>(__builtin_ctzll(bits)));
  }
  return std::nullopt;
}

bool send_queue::has_droppable() const noexcept {
  return next_busy(min_droppable_priority).has_value();
}

void send_queue::set_busy(priority prio, bool busy) noexcept {
  auto bit = uint64_t{1} << (prio % 64);
  if (busy)
    busy_[prio / 64] |= bit;
  else
    busy_[prio / 64] &= ~bit;
}

void send_queue::drop_lane(lane& ln, drop_report& report) {
  report.add(ln.prio, ln.messages.size(), ln.bytes);
  dropped_messages_ += ln.messages.size();
  dropped_bytes_ += ln.bytes;
  size_ -= ln.messages.size();
  bytes_ -= ln.bytes;
  ln.messages.clear();
  ln.bytes = 0;
  set_busy(ln.prio, false);
}

// -- send_queue: operations ---------------------------------------------------

status send_queue::push(priority prio, byte_buffer&& msg, time_point now) {
  if (msg.size() > cfg_.max_message_size)
    return {errc::message_too_large, "message of " + std::to_string(msg.size())
                                       + " bytes exceeds the maximum of "
                                       + std::to_string(cfg_.max_message_size)};
  // bytes_ <= max_bytes always holds, so the subtraction cannot wrap.
  if (msg.size() > cfg_.max_bytes - bytes_)
    return {errc::queue_full,
            "message of " + std::to_string(msg.size()) + " bytes does not fit: "
              + std::to_string(bytes_) + " of " + std::to_string(cfg_.max_bytes)
              + " bytes queued in " + count_of(size_, "message")};
  now = advance(now);
  auto& ln = find_or_add(prio);
  auto had_droppable = has_droppable();
  auto len = msg.size();
  // emplace_back leaves `msg` alone if it throws.
  ln.messages.emplace_back(std::move(msg), now);
  ln.bytes += len;
  size_ += 1;
  bytes_ += len;
  set_busy(prio, true);
  // Times never go back, so only the first droppable message moves the bound.
  if (prio >= min_droppable_priority && !had_droppable)
    oldest_droppable_bound_ = now;
  return {};
}

time_point send_queue::advance(time_point now) noexcept {
  latest_ = std::max(latest_, now);
  return latest_;
}

void send_queue::apply_expiry(time_point now, drop_report& report) {
  now = advance(now);
  if (!has_droppable() || now - oldest_droppable_bound_ <= cfg_.expiry)
    return;
  // Most urgent first: the first aged queue goes with all less urgent ones;
  // the fresh ones before it give the new, exact bound.
  std::optional<time_point> oldest_kept;
  for (auto p = next_busy(min_droppable_priority); p; p = next_busy(*p + 1u)) {
    auto& ln = *find(*p);
    auto front = ln.messages.front().enqueued;
    if (now - front > cfg_.expiry) {
      for (auto q = p; q; q = next_busy(*q + 1u))
        drop_lane(*find(*q), report);
      break;
    }
    oldest_kept = oldest_kept ? std::min(*oldest_kept, front) : front;
  }
  if (oldest_kept)
    oldest_droppable_bound_ = *oldest_kept;
}

std::optional<queued_message> send_queue::pop(time_point now,
                                              drop_report& dropped) {
  apply_expiry(now, dropped);
  auto p = next_busy(0);
  if (!p)
    return std::nullopt;
  auto& ln = *find(*p);
  auto& front = ln.messages.front();
  queued_message out{*p, std::move(front.payload), front.enqueued};
  ln.messages.pop_front();
  ln.bytes -= out.payload.size();
  size_ -= 1;
  bytes_ -= out.payload.size();
  if (ln.messages.empty())
    set_busy(*p, false);
  return out;
}

drop_report send_queue::expire(time_point now) {
  drop_report report;
  apply_expiry(now, report);
  return report;
}

std::optional<time_point> send_queue::next_expiry() const {
  std::optional<time_point> oldest;
  for (auto p = next_busy(min_droppable_priority); p; p = next_busy(*p + 1u)) {
    auto front = find(*p)->messages.front().enqueued;
    oldest = oldest ? std::min(*oldest, front) : front;
  }
  if (!oldest)
    return std::nullopt;
  return *oldest + first_expired_age(cfg_.expiry);
}

drop_report send_queue::clear() {
  drop_report report;
  for (auto p = next_busy(0); p; p = next_busy(*p + 1u))
    drop_lane(*find(*p), report);
  return report;
}

// -- send_queue: statistics ---------------------------------------------------

size_t send_queue::size(priority prio) const noexcept {
  auto* ln = find(prio);
  return ln != nullptr ? ln->messages.size() : 0;
}

size_t send_queue::bytes(priority prio) const noexcept {
  auto* ln = find(prio);
  return ln != nullptr ? ln->bytes : 0;
}

std::vector<priority_count> send_queue::queued() const {
  std::vector<priority_count> out;
  for (auto p = next_busy(0); p; p = next_busy(*p + 1u)) {
    auto* ln = find(*p);
    out.push_back(priority_count{*p, ln->messages.size(), ln->bytes});
  }
  return out;
}

} // namespace crust::codec
