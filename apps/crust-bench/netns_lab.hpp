#pragma once

#include <csignal>
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

/// The namespace pair of `crust-bench rudp` (docs/benchmarks.md): a sender
/// namespace and a receiver namespace joined by one veth pair and linked to
/// nothing else; `tbf rate 100mbit burst 64kb latency 50ms` on the
/// sender's egress; GSO off (`gso_max_segs 1`, so that every drop is one
/// packet); IPv6 off; in the receiver's namespace an nftables input chain
/// that counts the data packets (TCP and UDP to ports 20000-29999: the
/// receivers') and drops `numgen random mod 100 < N` of them. Only data
/// packets are dropped, never acknowledgements (they flow the other way).
///
/// Like the NAT lab (docs/netlab.md) a lab registers itself in
/// /run/netlab/<prefix> (its pid), names its namespaces <prefix>-snd and
/// <prefix>-rcv, and removes on start the namespaces of runs whose process
/// is gone.
namespace crust::bench::netns {

/// Set by SIGINT, SIGTERM or SIGHUP while the section runs; every wait of
/// the section checks it.
extern volatile std::sig_atomic_t stop_signal;

/// Thrown when `stop_signal` is seen.
struct interrupted {
  int signal;
};

/// Output and exit code of a command; code -1 if it did not run or timed
/// out.
struct command_result {
  int code = -1;
  std::string output;
};

/// Runs `argv` (PATH lookup) with stdin from `input`, stdout and stderr
/// captured; killed after `timeout` seconds.
command_result run_command(const std::vector<std::string>& argv,
                           double timeout = 10, const std::string& input = {});

class lab {
public:
  static constexpr const char* sender_address = "10.250.0.1";
  static constexpr const char* receiver_address = "10.250.0.2";
  static constexpr uint16_t first_port = 20000;
  static constexpr uint16_t last_port = 29999;

  /// Why no lab can be built here (not root, no `ip`/`nft`/`tc`, no
  /// namespaces, no tbf), or empty.
  static std::string skip_reason();

  /// Builds the pair; throws std::runtime_error (after cleaning up).
  lab();
  ~lab();
  lab(const lab&) = delete;
  lab& operator=(const lab&) = delete;

  /// Replaces the receiver's rules: drop `percent` % (0: none) and zero the
  /// counters.
  void set_loss(int percent);

  /// Data packets that reached the receiver's input hook, and those dropped
  /// there, since the last `set_loss`.
  struct counters {
    uint64_t packets = 0;
    uint64_t dropped = 0;
  };
  counters read_counters() const;

  const std::string& sender_ns() const {
    return snd_;
  }
  const std::string& receiver_ns() const {
    return rcv_;
  }

  /// Deletes the namespaces (ending every process left in them) and the
  /// registry entry. Idempotent.
  void teardown();

private:
  void ns_run(const std::string& ns, std::vector<std::string> argv,
              const std::string& input = {}) const;

  std::string prefix_;
  std::string snd_;
  std::string rcv_;
  std::vector<std::string> created_;
  bool registered_ = false;
};

/// One role process: this program re-executed in a namespace as
/// `__netns-role ...`, its stdout and stderr on a pipe.
class role_process {
public:
  /// Starts `self_exe __netns-role args...` in namespace `ns` (entered
  /// with setns before the exec). Throws std::runtime_error.
  role_process(const std::string& self_exe, const std::string& ns,
               const std::vector<std::string>& args);
  ~role_process();
  role_process(const role_process&) = delete;
  role_process& operator=(const role_process&) = delete;

  /// Reads what is available (within `seconds`); complete lines go to
  /// `lines()`. False once the pipe is closed.
  bool pump(double seconds);

  /// Reaps the child if it exited; true once it has.
  bool exited();

  /// The first line starting with `word ` (or equal to it), if any.
  const std::string* line_with(const std::string& word) const;

  /// The last line that is none of `ready`, `result`, `error` (library
  /// noise, for error messages).
  std::string last_other_line() const;

  void signal(int sig);

  /// SIGKILL (if still running) and reap.
  void kill_and_reap();

  int fd() const {
    return out_;
  }

private:
  pid_t pid_ = -1;
  int out_ = -1;
  bool reaped_ = false;
  std::string partial_;
  std::vector<std::string> lines_;
};

/// The path of this program's executable (/proc/self/exe resolved).
std::string self_executable();

} // namespace crust::bench::netns
