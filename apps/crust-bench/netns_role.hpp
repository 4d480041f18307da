#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

/// The two ends of one transfer of the namespace section of `crust-bench
/// rudp` (netns_bench.hpp). The benchmark re-executes itself inside a
/// namespace as `crust-bench __netns-role send|receive TRANSPORT KEY=VALUE...`;
/// a role prints `ready` once it listens (receivers), then one line
/// `result KEY=VALUE ...` (or `error TEXT`) and exits. Every role ends
/// within its `bound` (an alarm kills it otherwise).
namespace crust::bench::netns {

using clock_type = std::chrono::steady_clock;

/// What a role is told on its command line.
struct role_args {
  /// "send" or "receive".
  std::string role;
  /// "crust", "crust_actors", "tcp", "udt", "srt", "enet".
  std::string transport;
  /// The receiver's address (sender) and port (both).
  std::string address = "0.0.0.0";
  uint16_t port = 0;
  /// Receiver: seconds ignored after the first byte, then seconds counted.
  double warmup = 1;
  double seconds = 5;
  /// Sender: seconds of sending.
  double send_seconds = 7;
  /// TCP: the congestion control (TCP_CONGESTION); crust: "loss_tolerant"
  /// or "new_reno".
  std::string cc;
  /// Hard limit of the role's life, seconds.
  double bound = 30;
};

/// Parses `argv` (after `__netns-role`); throws std::runtime_error.
role_args parse_role_args(int argc, char** argv);

/// Runs a role; returns the process exit code. Entry of `__netns-role`.
int run_role(int argc, char** argv);

/// A receiver was sent SIGTERM (the sender is done): it reports and ends.
bool stop_requested();

/// The byte stream every sender sends and every receiver checks: byte `i`
/// is `block[i % period]`, a fixed pseudo-random block.
class stream_pattern {
public:
  /// Longest piece `at` hands out.
  static constexpr size_t max_piece = 64 * 1024;
  /// A prime, so that fixed-size writes do not line up with it.
  static constexpr size_t period = 65521;

  stream_pattern();

  /// `n <= max_piece` bytes of the stream from `offset`.
  const uint8_t* at(uint64_t offset) const {
    return block_.data() + offset % period;
  }

  /// True if `data` is the stream from `offset`.
  bool matches(uint64_t offset, const uint8_t* data, size_t n) const;

private:
  std::vector<uint8_t> block_;
};

/// A receiver's account: every byte is checked against the pattern; the
/// bytes that arrive between `warmup` and `warmup + seconds` after the
/// first one are the goodput.
class receive_meter {
public:
  receive_meter(double warmup, double seconds);

  /// Checks and counts `n` bytes that arrived now.
  void add(const uint8_t* data, size_t n);

  /// The measuring window is over.
  bool done() const;

  /// The first byte arrived.
  bool started() const {
    return started_;
  }

  /// The `result` line's fields.
  std::string summary() const;

  uint64_t total_bytes() const {
    return offset_;
  }

private:
  stream_pattern pattern_;
  clock_type::duration warmup_;
  clock_type::duration seconds_;
  bool started_ = false;
  clock_type::time_point first_;
  uint64_t offset_ = 0;
  uint64_t counted_ = 0;
  bool verified_ = true;
  uint64_t first_bad_ = 0;
  double window_seconds_ = 0;
};

/// Writes `line` and a newline to stdout at once (unbuffered).
void say(const std::string& line);

/// "key=value" with a number printed without locale surprises.
std::string field(const char* key, double value);
std::string field(const char* key, uint64_t value);

/// Seconds since `t`.
inline double since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

// -- the transports (netns_<transport>.cpp) -----------------------------------

int tcp_send(const role_args& args);
int tcp_receive(const role_args& args);
int crust_send(const role_args& args);
int crust_receive(const role_args& args);
int crust_actors_send(const role_args& args);
int crust_actors_receive(const role_args& args);
#ifdef CRUST_BENCH_HAVE_UDT
int udt_send(const role_args& args);
int udt_receive(const role_args& args);
#endif
#ifdef CRUST_BENCH_HAVE_SRT
int srt_send(const role_args& args);
int srt_receive(const role_args& args);
#endif
#ifdef CRUST_BENCH_HAVE_ENET
int enet_send(const role_args& args);
int enet_receive(const role_args& args);
#endif

} // namespace crust::bench::netns
