#include "netns_role.hpp"

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <unistd.h>

namespace crust::bench::netns {

namespace {

volatile std::sig_atomic_t term_seen = 0;

void on_term(int) {
  term_seen = 1;
}

double number(const std::string& key, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  auto x = std::strtod(text.c_str(), &end);
  if (errno != 0 || end == text.c_str() || *end != '\0' || !std::isfinite(x))
    throw std::runtime_error{"bad value for " + key + ": " + text};
  return x;
}

} // namespace

role_args parse_role_args(int argc, char** argv) {
  if (argc < 2)
    throw std::runtime_error{"usage: __netns-role send|receive TRANSPORT "
                             "[KEY=VALUE...]"};
  role_args out;
  out.role = argv[0];
  out.transport = argv[1];
  if (out.role != "send" && out.role != "receive")
    throw std::runtime_error{"unknown role " + out.role};
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    auto eq = arg.find('=');
    if (eq == std::string::npos)
      throw std::runtime_error{"expected KEY=VALUE: " + arg};
    auto key = arg.substr(0, eq);
    auto value = arg.substr(eq + 1);
    if (key == "address") {
      out.address = value;
    } else if (key == "port") {
      auto p = number(key, value);
      if (p < 1 || p > 65535)
        throw std::runtime_error{"bad port " + value};
      out.port = static_cast<uint16_t>(p);
    } else if (key == "warmup") {
      out.warmup = number(key, value);
    } else if (key == "seconds") {
      out.seconds = number(key, value);
    } else if (key == "send_seconds") {
      out.send_seconds = number(key, value);
    } else if (key == "bound") {
      out.bound = number(key, value);
    } else if (key == "cc") {
      out.cc = value;
    } else {
      throw std::runtime_error{"unknown key " + key};
    }
  }
  if (out.port == 0)
    throw std::runtime_error{"no port"};
  if (!(out.seconds > 0) || out.warmup < 0 || !(out.send_seconds > 0)
      || !(out.bound > 0) || out.bound > 600)
    throw std::runtime_error{"bad durations"};
  return out;
}

int run_role(int argc, char** argv) {
  role_args args;
  try {
    args = parse_role_args(argc, argv);
  } catch (const std::exception& ex) {
    say(std::string{"error "} + ex.what());
    return 2;
  }
  // Whatever happens, this process is gone after its bound (SIGALRM's
  // default action ends it).
  ::alarm(static_cast<unsigned>(std::ceil(args.bound)));
  struct sigaction sa {};
  sa.sa_handler = on_term;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  bool send = args.role == "send";
  const auto& t = args.transport;
  try {
    if (t == "tcp")
      return send ? tcp_send(args) : tcp_receive(args);
    if (t == "crust")
      return send ? crust_send(args) : crust_receive(args);
    if (t == "crust_actors")
      return send ? crust_actors_send(args) : crust_actors_receive(args);
#ifdef CRUST_BENCH_HAVE_UDT
    if (t == "udt")
      return send ? udt_send(args) : udt_receive(args);
#endif
#ifdef CRUST_BENCH_HAVE_SRT
    if (t == "srt")
      return send ? srt_send(args) : srt_receive(args);
#endif
#ifdef CRUST_BENCH_HAVE_ENET
    if (t == "enet")
      return send ? enet_send(args) : enet_receive(args);
#endif
  } catch (const std::exception& ex) {
    say(std::string{"error "} + ex.what());
    return 1;
  }
  say("error transport " + t + " is not built in");
  return 2;
}

bool stop_requested() {
  return term_seen != 0;
}

// -- stream_pattern
// -------------------------------------------------------------

stream_pattern::stream_pattern() : block_(period + max_piece) {
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (size_t i = 0; i < period; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    block_[i] = static_cast<uint8_t>(x >> 24);
  }
  for (size_t i = period; i < block_.size(); ++i)
    block_[i] = block_[i - period];
}

bool stream_pattern::matches(uint64_t offset, const uint8_t* data,
                             size_t n) const {
  while (n > 0) {
    auto piece = n < max_piece ? n : max_piece;
    if (std::memcmp(at(offset), data, piece) != 0)
      return false;
    offset += piece;
    data += piece;
    n -= piece;
  }
  return true;
}

// -- receive_meter
// --------------------------------------------------------------

receive_meter::receive_meter(double warmup, double seconds)
  : warmup_(std::chrono::duration_cast<clock_type::duration>(
    std::chrono::duration<double>{warmup})),
    seconds_(std::chrono::duration_cast<clock_type::duration>(
      std::chrono::duration<double>{seconds})) {
  // nop
}

void receive_meter::add(const uint8_t* data, size_t n) {
  if (n == 0)
    return;
  auto now = clock_type::now();
  if (!started_) {
    started_ = true;
    first_ = now;
  }
  if (verified_ && !pattern_.matches(offset_, data, n)) {
    verified_ = false;
    first_bad_ = offset_;
  }
  offset_ += n;
  if (now >= first_ + warmup_ && now < first_ + warmup_ + seconds_)
    counted_ += n;
}

bool receive_meter::done() const {
  return started_ && clock_type::now() >= first_ + warmup_ + seconds_;
}

std::string receive_meter::summary() const {
  auto secs = std::chrono::duration<double>(seconds_).count();
  std::string out = field("bytes", counted_);
  out += " " + field("seconds", secs);
  out += " " + field("goodput_mbit_s", counted_ * 8 / secs / 1e6);
  out += " " + field("total_bytes", offset_);
  out += " " + field("complete", done() ? uint64_t{1} : uint64_t{0});
  out += " " + field("verified", verified_ ? uint64_t{1} : uint64_t{0});
  if (!verified_)
    out += " " + field("first_bad_offset", first_bad_);
  return out;
}

// -- output -------------------------------------------------------------------

void say(const std::string& line) {
  auto text = line + "\n";
  size_t pos = 0;
  while (pos < text.size()) {
    auto n = ::write(STDOUT_FILENO, text.data() + pos, text.size() - pos);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    pos += static_cast<size_t>(n);
  }
}

std::string field(const char* key, double value) {
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%s=%.6g", key, value);
  return buf;
}

std::string field(const char* key, uint64_t value) {
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%s=%llu", key,
                static_cast<unsigned long long>(value));
  return buf;
}

} // namespace crust::bench::netns
