#pragma once

namespace crust_swarm {

/// Turns SIGINT and SIGTERM into something a poll loop can wait for: the
/// handler writes the signal number to a pipe (the only work it does).
/// Also ignores SIGPIPE, so writing to a node that died is an error, not
/// the end of the launcher.
class interrupt_signal {
public:
  /// Installs the handlers; false if the pipe could not be made.
  static bool install();

  /// The read end of the pipe, for poll.
  static int fd();

  /// The first signal received since the last call, or 0.
  static int take();
};

} // namespace crust_swarm
