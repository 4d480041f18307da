#include "crust/transport/noise/replay_window.hpp"

#include <string>

namespace crust::noise {

namespace {

constexpr size_t block_of(uint64_t n, size_t blocks) noexcept {
  return static_cast<size_t>((n / 64) % blocks);
}

constexpr uint64_t bit_of(uint64_t n) noexcept {
  return uint64_t{1} << (n % 64);
}

} // namespace

status replay_window::check(uint64_t n) const {
  if (empty_ || n > highest_)
    return {};
  if (highest_ - n >= window_size)
    return {errc::packet_too_old,
            "packet " + std::to_string(n) + " is more than "
              + std::to_string(window_size) + " below the highest received ("
              + std::to_string(highest_) + ")"};
  if ((ring_[block_of(n, blocks)] & bit_of(n)) != 0)
    return {errc::replayed_packet,
            "packet " + std::to_string(n) + " was already received"};
  return {};
}

void replay_window::accept(uint64_t n) noexcept {
  if (empty_) {
    empty_ = false;
    highest_ = n;
  } else if (n > highest_) {
    // Clear the blocks we slide into; a jump of a whole ring clears it all.
    auto cur = highest_ / 64;
    auto diff = n / 64 - cur;
    if (diff >= blocks) {
      ring_.fill(0);
    } else {
      for (uint64_t i = 1; i <= diff; ++i)
        ring_[static_cast<size_t>((cur + i) % blocks)] = 0;
    }
    highest_ = n;
  } else if (highest_ - n >= window_size) {
    return; // Too old: accepting it would corrupt a newer block.
  }
  ring_[block_of(n, blocks)] |= bit_of(n);
}

status replay_window::check_and_accept(uint64_t n) {
  auto res = check(n);
  if (res)
    accept(n);
  return res;
}

void replay_window::reset() noexcept {
  ring_.fill(0);
  highest_ = 0;
  empty_ = true;
}

} // namespace crust::noise
