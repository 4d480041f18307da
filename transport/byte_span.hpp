#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace crust {

/// Growable owned bytes: what engines hand out.
using byte_buffer = std::vector<uint8_t>;

/// A read-only view of contiguous bytes (C++17 has no std::span).
class const_byte_span {
public:
  constexpr const_byte_span() noexcept = default;

  constexpr const_byte_span(const uint8_t* data, size_t size) noexcept
    : data_(data), size_(size) {
    // nop
  }

  const_byte_span(const byte_buffer& buf) noexcept // NOLINT: implicit by design
    : data_(buf.data()), size_(buf.size()) {
    // nop
  }

  template<size_t N>
  constexpr const_byte_span(
    const std::array<uint8_t, N>& arr) noexcept // NOLINT: implicit by design
    : data_(arr.data()), size_(N) {
    // nop
  }

  constexpr const uint8_t* data() const noexcept {
    return data_;
  }

  constexpr size_t size() const noexcept {
    return size_;
  }

  constexpr bool empty() const noexcept {
    return size_ == 0;
  }

  constexpr const uint8_t* begin() const noexcept {
    return data_;
  }

  constexpr const uint8_t* end() const noexcept {
    return data_ + size_;
  }

  constexpr uint8_t operator[](size_t i) const noexcept {
    return data_[i];
  }

  /// The bytes from `offset` on, at most `count` of them; clamps to the end.
  constexpr const_byte_span subspan(size_t offset,
                                    size_t count = SIZE_MAX) const noexcept {
    if (offset > size_)
      offset = size_;
    auto rest = size_ - offset;
    return {data_ + offset, count < rest ? count : rest};
  }

  byte_buffer to_buffer() const {
    return byte_buffer(begin(), end());
  }

private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

inline bool operator==(const_byte_span x, const_byte_span y) noexcept {
  if (x.size() != y.size())
    return false;
  for (size_t i = 0; i < x.size(); ++i)
    if (x[i] != y[i])
      return false;
  return true;
}

inline bool operator!=(const_byte_span x, const_byte_span y) noexcept {
  return !(x == y);
}

} // namespace crust
