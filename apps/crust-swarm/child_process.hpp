#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace crust_swarm {

/// What to run: the program (a path, not searched), its arguments, extra
/// environment variables and where its stderr goes.
struct spawn_spec {
  std::string program;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string stderr_path;
};

/// One child process with its stdin and stdout as non-blocking pipes. The
/// child runs in its own process group (a Ctrl-C on the terminal reaches
/// only the launcher, which then stops the children in order) and gets
/// SIGTERM if the launcher dies. The destructor kills a child still
/// running, so none outlives its owner.
class child_process {
public:
  /// Starts the child; nullptr and `error` set if that failed.
  static std::unique_ptr<child_process> spawn(const spawn_spec& spec,
                                              std::string& error);

  ~child_process();

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const {
    return pid_;
  }

  /// -1 once stdout reached its end.
  int stdout_fd() const {
    return stdout_fd_;
  }

  /// -1 once stdin is closed.
  int stdin_fd() const {
    return stdin_fd_;
  }

  /// Queues `line` and a newline for stdin; written by `flush`.
  void queue_line(const std::string& line);

  /// Closes stdin once everything queued is written.
  void close_stdin_when_flushed();

  bool has_unwritten_input() const {
    return !unwritten_.empty();
  }

  /// Writes what stdin takes without blocking.
  void flush();

  /// Appends the complete lines stdout has available (without newlines).
  void read_lines(std::vector<std::string>& out);

  /// Collects the exit status if the child ended; true if it has.
  bool reap();

  bool exited() const {
    return status_text_.has_value();
  }

  /// "exit code N" or "killed by SIGNAME"; empty while running.
  std::string status_text() const {
    return status_text_.value_or("");
  }

  /// The exit code if the child exited normally.
  std::optional<int> exit_code() const {
    return exit_code_;
  }

  /// Signals the child's process group (nothing once reaped).
  void signal_group(int signo);

  const std::string& stderr_path() const {
    return stderr_path_;
  }

private:
  child_process() = default;

  void close_stdin();

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::string unwritten_;
  bool close_after_flush_ = false;
  std::string partial_line_;
  std::optional<std::string> status_text_;
  std::optional<int> exit_code_;
  std::string stderr_path_;
};

/// The last `max_lines` lines of a text file (e.g. a child's stderr).
std::string file_tail(const std::string& path, size_t max_lines);

} // namespace crust_swarm
