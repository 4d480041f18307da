// wan_emulator: the NAT laboratory's impaired link (the kernel here has no
// netem). Joins two TAP devices, each in its own network namespace, and
// forwards Ethernet frames between them with one-way delay, jitter, loss
// and reordering, the same in both directions. docs/netlab.md has its
// throughput and delay accuracy.
//
//   wan_emulator --a NETNS:IFNAME --b NETNS:IFNAME [--delay-ms D]
//                [--jitter-ms J] [--loss-pct L] [--reorder-pct R]
//                [--reorder-gap-ms G] [--seed S] [--max-queue-bytes N]
//
// The TAP devices must exist (ip tuntap add mode tap); NETNS is a name under
// /run/netns. Prints "ready" once both are open; stops on SIGTERM/SIGINT
// and prints its counters to stderr.
//
// Jitter does not reorder: a frame never leaves before the one read before
// it (one path, one queue). A reordered frame is held back by the reorder
// gap on top of its delay and lets later frames overtake it.

#include <algorithm>
#include <array>
#include <asio.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <sched.h>
#include <stdexcept>
#include <string>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct impairment {
  double delay_ms = 0;
  double jitter_ms = 0;
  double loss_pct = 0;
  double reorder_pct = 0;
  double reorder_gap_ms = 5;
  size_t max_queue_bytes = 8 * 1024 * 1024;
};

std::runtime_error sys_error(const std::string& what) {
  return std::runtime_error{what + ": " + std::strerror(errno)};
}

// A file descriptor closed on scope exit.
class unique_fd {
public:
  explicit unique_fd(int fd) : fd_(fd) {
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() {
    if (fd_ >= 0)
      close(fd_);
  }
  int get() const {
    return fd_;
  }
  int release() {
    auto fd = fd_;
    fd_ = -1;
    return fd;
  }

private:
  int fd_;
};

// Opens TAP device `ifname` of namespace `netns`, then returns this thread
// to the namespace it started in (TUNSETIFF looks the name up in the
// caller's namespace; the descriptor keeps working from anywhere).
int open_tap(const std::string& netns, const std::string& ifname) {
  unique_fd home{open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)};
  if (home.get() < 0)
    throw sys_error("open /proc/self/ns/net");
  auto path = "/run/netns/" + netns;
  unique_fd target{open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (target.get() < 0)
    throw sys_error("open " + path);
  if (setns(target.get(), CLONE_NEWNET) != 0)
    throw sys_error("setns " + netns);
  unique_fd tap{open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)};
  auto open_errno = errno;
  ifreq req{};
  req.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::snprintf(req.ifr_name, IFNAMSIZ, "%s", ifname.c_str());
  auto attached = tap.get() >= 0 && ioctl(tap.get(), TUNSETIFF, &req) == 0;
  auto attach_errno = errno;
  if (setns(home.get(), CLONE_NEWNET) != 0)
    throw sys_error("setns back");
  if (tap.get() < 0) {
    errno = open_errno;
    throw sys_error("open /dev/net/tun");
  }
  if (!attached) {
    errno = attach_errno;
    throw sys_error("TUNSETIFF " + netns + ":" + ifname);
  }
  return tap.release();
}

struct counters {
  uint64_t frames_in = 0;
  uint64_t frames_out = 0;
  uint64_t lost = 0;
  uint64_t reordered = 0;
  uint64_t queue_full = 0;
  uint64_t write_failed = 0;
  uint64_t bytes_out = 0;
};

// One direction: reads frames from `from`, holds each until it is due,
// writes it to `to`.
class direction {
public:
  direction(asio::io_context& io, int from, int to, const impairment& imp,
            std::mt19937_64& rng, const char* name)
    : io_(io), from_(io, from), to_fd_(to), timer_(io), imp_(imp), rng_(rng),
      name_(name) {
  }

  void start() {
    read_next();
  }

  void stop() {
    asio::error_code ignored;
    from_.cancel(ignored);
    timer_.cancel();
  }

  void print_counters() const {
    std::fprintf(stderr,
                 "wan_emulator %s: in %llu out %llu lost %llu reordered %llu "
                 "queue_full %llu write_failed %llu bytes_out %llu\n",
                 name_, ull(stats_.frames_in), ull(stats_.frames_out),
                 ull(stats_.lost), ull(stats_.reordered),
                 ull(stats_.queue_full), ull(stats_.write_failed),
                 ull(stats_.bytes_out));
  }

private:
  struct pending {
    clock_type::time_point due;
    uint64_t serial;
    std::vector<uint8_t> frame;
    bool operator>(const pending& other) const {
      return due != other.due ? due > other.due : serial > other.serial;
    }
  };

  static unsigned long long ull(uint64_t x) {
    return static_cast<unsigned long long>(x);
  }

  void read_next() {
    from_.async_read_some(asio::buffer(buf_),
                          [this](const asio::error_code& ec, size_t n) {
                            if (ec == asio::error::operation_aborted)
                              return;
                            if (ec) {
                              // The TAP is gone (its namespace was deleted):
                              // nothing left to forward.
                              std::fprintf(stderr, "wan_emulator %s: %s\n",
                                           name_, ec.message().c_str());
                              io_.stop();
                              return;
                            }
                            on_frame(n);
                            drain_ready();
                            read_next();
                          });
  }

  // Takes the frames already waiting without a trip through the reactor
  // each (bounded, so the other direction gets its turn).
  void drain_ready() {
    for (int i = 0; i < 64; ++i) {
      auto n = ::read(from_.native_handle(), buf_.data(), buf_.size());
      if (n <= 0)
        return;
      on_frame(static_cast<size_t>(n));
    }
  }

  bool chance(double pct) {
    return pct > 0
           && std::uniform_real_distribution<double>{0, 100}(rng_) < pct;
  }

  void on_frame(size_t n) {
    ++stats_.frames_in;
    if (chance(imp_.loss_pct)) {
      ++stats_.lost;
      return;
    }
    if (queued_bytes_ + n > imp_.max_queue_bytes) {
      ++stats_.queue_full;
      return;
    }
    auto now = clock_type::now();
    double ms = imp_.delay_ms;
    if (imp_.jitter_ms > 0)
      ms += std::uniform_real_distribution<double>{-imp_.jitter_ms,
                                                   imp_.jitter_ms}(rng_);
    auto due = now
               + std::chrono::duration_cast<clock_type::duration>(
                 std::chrono::duration<double, std::milli>{std::max(0.0, ms)});
    if (chance(imp_.reorder_pct)) {
      ++stats_.reordered;
      due += std::chrono::duration_cast<clock_type::duration>(
        std::chrono::duration<double, std::milli>{imp_.reorder_gap_ms});
    } else {
      // In order with every frame that was not held back.
      due = std::max(due, last_in_order_);
      last_in_order_ = due;
    }
    queued_bytes_ += n;
    queue_.push(pending{due, serial_++, {buf_.begin(), buf_.begin() + n}});
    if (queue_.top().serial == serial_ - 1)
      arm_timer();
  }

  void arm_timer() {
    timer_.expires_at(queue_.top().due);
    timer_.async_wait([this](const asio::error_code& ec) {
      if (ec == asio::error::operation_aborted)
        return;
      flush_due();
    });
  }

  void flush_due() {
    auto now = clock_type::now();
    while (!queue_.empty() && queue_.top().due <= now) {
      const auto& frame = queue_.top().frame;
      if (::write(to_fd_, frame.data(), frame.size())
          == static_cast<ssize_t>(frame.size())) {
        ++stats_.frames_out;
        stats_.bytes_out += frame.size();
      } else {
        ++stats_.write_failed; // the TAP's queue is full: a lost frame
      }
      queued_bytes_ -= frame.size();
      queue_.pop();
    }
    if (!queue_.empty())
      arm_timer();
  }

  asio::io_context& io_;
  asio::posix::stream_descriptor from_;
  int to_fd_;
  asio::steady_timer timer_;
  const impairment& imp_;
  std::mt19937_64& rng_;
  const char* name_;
  std::array<uint8_t, 65536> buf_{};
  std::priority_queue<pending, std::vector<pending>, std::greater<pending>>
    queue_;
  size_t queued_bytes_ = 0;
  uint64_t serial_ = 0;
  clock_type::time_point last_in_order_{};
  counters stats_;
};

std::pair<std::string, std::string> split_endpoint(const std::string& text) {
  auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw std::invalid_argument{"expected NETNS:IFNAME, got '" + text + "'"};
  return {text.substr(0, colon), text.substr(colon + 1)};
}

int usage() {
  std::fprintf(stderr, "usage: wan_emulator --a NETNS:IF --b NETNS:IF "
                       "[--delay-ms D] [--jitter-ms J] [--loss-pct L] "
                       "[--reorder-pct R] [--reorder-gap-ms G] [--seed S] "
                       "[--max-queue-bytes N]\n");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> opts;
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc || std::strncmp(argv[i], "--", 2) != 0)
      return usage();
    opts[argv[i] + 2] = argv[i + 1];
  }
  if (!opts.count("a") || !opts.count("b"))
    return usage();
  // Ends with the lab that started us, even if it was killed outright.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  try {
    impairment imp;
    auto number = [&](const char* key, double fallback) {
      auto i = opts.find(key);
      return i == opts.end() ? fallback : std::stod(i->second);
    };
    imp.delay_ms = number("delay-ms", 0);
    imp.jitter_ms = number("jitter-ms", 0);
    imp.loss_pct = number("loss-pct", 0);
    imp.reorder_pct = number("reorder-pct", 0);
    imp.reorder_gap_ms = number("reorder-gap-ms", 5);
    imp.max_queue_bytes = static_cast<size_t>(
      number("max-queue-bytes", static_cast<double>(imp.max_queue_bytes)));
    std::mt19937_64 rng{static_cast<uint64_t>(number("seed", 1))};
    auto [ns_a, if_a] = split_endpoint(opts["a"]);
    auto [ns_b, if_b] = split_endpoint(opts["b"]);
    int fd_a = open_tap(ns_a, if_a);
    int fd_b = open_tap(ns_b, if_b);
    asio::io_context io;
    // The directions own reading; writing uses the other's descriptor,
    // which stays open as long as both live.
    direction a_to_b{io, fd_a, fd_b, imp, rng, "a->b"};
    direction b_to_a{io, fd_b, fd_a, imp, rng, "b->a"};
    asio::signal_set signals{io, SIGINT, SIGTERM};
    signals.async_wait([&](const asio::error_code&, int) {
      a_to_b.stop();
      b_to_a.stop();
      io.stop();
    });
    a_to_b.start();
    b_to_a.start();
    std::printf("ready\n");
    std::fflush(stdout);
    io.run();
    a_to_b.print_counters();
    b_to_a.print_counters();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wan_emulator: %s\n", e.what());
    return 1;
  }
  return 0;
}
