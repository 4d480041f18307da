#include "crust/transport/rudp/range_set.hpp"

#include <iterator>

namespace crust::rudp {

void range_set::insert(uint64_t first, uint64_t last) {
  if (first >= last)
    return;
  // The first range that could touch [first, last): the one starting at or
  // before `first`, if it reaches `first`.
  auto i = ranges_.upper_bound(first);
  if (i != ranges_.begin()) {
    auto prev = std::prev(i);
    if (prev->second >= first) {
      if (prev->second >= last)
        return; // already covered
      first = prev->first;
      i = prev;
    }
  }
  // Swallow every range starting within [first, last].
  while (i != ranges_.end() && i->first <= last) {
    if (i->second > last)
      last = i->second;
    i = ranges_.erase(i);
  }
  ranges_.emplace(first, last);
}

void range_set::erase(uint64_t first, uint64_t last) {
  if (first >= last)
    return;
  auto i = ranges_.upper_bound(first);
  if (i != ranges_.begin()) {
    auto prev = std::prev(i);
    if (prev->second > first) {
      auto old_last = prev->second;
      if (prev->first == first) {
        ranges_.erase(prev);
      } else {
        prev->second = first;
      }
      if (old_last > last) {
        ranges_.emplace(last, old_last);
        return;
      }
    }
  }
  while (i != ranges_.end() && i->first < last) {
    if (i->second > last) {
      auto tail = i->second;
      ranges_.erase(i);
      ranges_.emplace(last, tail);
      return;
    }
    i = ranges_.erase(i);
  }
}

bool range_set::contains(uint64_t first, uint64_t last) const {
  if (first >= last)
    return true;
  auto i = ranges_.upper_bound(first);
  if (i == ranges_.begin())
    return false;
  --i;
  return i->first <= first && i->second >= last;
}

uint64_t range_set::first_gap(uint64_t from) const {
  auto i = ranges_.upper_bound(from);
  if (i == ranges_.begin())
    return from;
  --i;
  return i->second > from ? i->second : from;
}

void range_set::keep_highest(size_t max_ranges) {
  while (ranges_.size() > max_ranges)
    ranges_.erase(ranges_.begin());
}

} // namespace crust::rudp
