#pragma once

#include "crust/messages/expected.hpp"

#include <cstdint>
#include <functional>
#include <string>

namespace crust_node {

/// Why the node stops.
enum class stop_reason : uint8_t {
  /// `quit` (typed, or the end of input) after every command succeeded.
  quit = 'q',
  /// `quit` after a command from the command line failed.
  quit_after_failure = 'f',
  /// Something the node cannot run without failed (the first listen).
  fatal = 'x',
  /// SIGINT or SIGTERM.
  signal = 's',
};

/// "quit", "quit after a failed command", "fatal error", "signal".
std::string to_string(stop_reason x);

/// 0 for `quit` and `signal`, 1 otherwise.
int exit_code(stop_reason x) noexcept;

/// Runs the main thread until the node should stop: hands every line of
/// stdin to a callback (and tells another one when stdin ends) until some
/// thread calls `notify` with the reason.
class stop_waiter {
public:
  /// Creates the wake-up pipe.
  static crust::expected<stop_waiter> make();

  stop_waiter(stop_waiter&& other) noexcept;
  stop_waiter& operator=(stop_waiter&&) = delete;
  stop_waiter(const stop_waiter&) = delete;
  stop_waiter& operator=(const stop_waiter&) = delete;
  ~stop_waiter();

  /// Wakes `wait()` with `why` (the first reason wins). Thread-safe and
  /// async-signal-safe: writes one byte to a pipe.
  void notify(stop_reason why) noexcept;

  /// Blocks until `notify`. If `on_line` is set, reads stdin meanwhile and
  /// calls it for each line (without the newline; a last line without one
  /// counts), then `on_end` once at its end.
  stop_reason wait(const std::function<void(std::string)>& on_line,
                   const std::function<void()>& on_end);

private:
  stop_waiter(int read_fd, int write_fd) noexcept;

  int read_fd_;
  int write_fd_;
};

} // namespace crust_node
