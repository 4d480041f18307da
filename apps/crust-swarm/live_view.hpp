#pragma once

#include "swarm_status.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace crust_swarm {

/// Shows a running swarm on stdout. On a terminal it redraws a table in
/// place about four times a second (ANSI cursor movement); elsewhere it
/// prints one plain progress line a second when something changed, and at
/// least one every five seconds.
class live_view {
public:
  explicit live_view(bool terminal);

  /// Draws `status` if it is time to.
  void show(const swarm_status& status);

  /// Draws `status` once more, whatever the time, and gives the terminal
  /// its cursor back.
  void finish(const swarm_status& status);

  bool terminal() const {
    return terminal_;
  }

  /// The table of nodes, one line each after a header (also used by the
  /// summary when there is no terminal).
  static std::vector<std::string> node_table(const swarm_status& status);

  /// The whole-swarm progress in one line.
  static std::string progress_line(const swarm_status& status);

private:
  void redraw(const swarm_status& status);
  void print_plain(const swarm_status& status);

  bool terminal_;
  std::chrono::steady_clock::time_point last_draw_{};
  bool drawn_ = false;
  int lines_on_screen_ = 0;
  std::string last_progress_;
  size_t notes_printed_ = 0;
};

} // namespace crust_swarm
