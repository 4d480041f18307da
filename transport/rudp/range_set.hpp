#pragma once

#include <cstddef>
#include <cstdint>
#include <map>

namespace crust::rudp {

/// A set of unsigned integers stored as disjoint half-open ranges
/// [first, last). Used for received packet numbers (the ACK ranges), for the
/// stream bytes received and for the stream bytes acknowledged.
class range_set {
public:
  using map_type = std::map<uint64_t, uint64_t>;

  /// Adds [first, last); merges with touching or overlapping ranges.
  void insert(uint64_t first, uint64_t last);

  /// Removes [first, last).
  void erase(uint64_t first, uint64_t last);

  /// True when every value of [first, last) is in the set.
  bool contains(uint64_t first, uint64_t last) const;

  bool contains(uint64_t value) const {
    return contains(value, value + 1);
  }

  /// The first value at or after `from` that is not in the set.
  uint64_t first_gap(uint64_t from) const;

  /// Drops the lowest ranges until at most `max_ranges` remain.
  void keep_highest(size_t max_ranges);

  bool empty() const noexcept {
    return ranges_.empty();
  }

  size_t size() const noexcept {
    return ranges_.size();
  }

  /// The highest value in the set (only if not empty).
  uint64_t highest() const {
    return ranges_.rbegin()->second - 1;
  }

  void clear() noexcept {
    ranges_.clear();
  }

  /// Ranges as first -> last, ascending.
  const map_type& ranges() const noexcept {
    return ranges_;
  }

private:
  map_type ranges_;
};

} // namespace crust::rudp
