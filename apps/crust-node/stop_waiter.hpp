#pragma once

#include "crust/messages/expected.hpp"

#include <string>

namespace crust_node {

/// Blocks the main thread until the node should stop: stdin reaches its end
/// or delivers the line `quit`, or `notify()` is called (from a signal
/// handler completion or any other thread).
class stop_waiter {
public:
  /// Creates the wake-up pipe.
  static crust::expected<stop_waiter> make();

  stop_waiter(stop_waiter&& other) noexcept;
  stop_waiter& operator=(stop_waiter&&) = delete;
  stop_waiter(const stop_waiter&) = delete;
  stop_waiter& operator=(const stop_waiter&) = delete;
  ~stop_waiter();

  /// Wakes `wait()`. Thread-safe; only writes one byte to a pipe.
  void notify() noexcept;

  /// Returns why the node stops: "end of input", "quit" or "signal".
  std::string wait();

private:
  stop_waiter(int read_fd, int write_fd) noexcept;

  int read_fd_;
  int write_fd_;
};

} // namespace crust_node
