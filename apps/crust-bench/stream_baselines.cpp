#include "stream_baselines.hpp"

#include "loopback_socket.hpp"

#include <atomic>
#include <exception>
#include <memory>
#include <stdexcept>
#include <sys/socket.h>
#include <thread>
#include <time.h>

namespace crust::bench {

namespace {

using clock_type = std::chrono::steady_clock;

/// One end of a stream: plain socket calls, or TLS over the socket.
class stream_end {
public:
  stream_end(const stream_settings& settings, int fd, bool server) : fd_(fd) {
    if (settings.tls != nullptr)
      tls_ = std::make_unique<tls_stream>(
        server ? settings.tls->server() : settings.tls->client(), fd, server);
  }

  bool write(const void* data, size_t len) {
    return tls_ ? tls_->write(data, len) : write_all(fd_, data, len);
  }

  long read(void* data, size_t len) {
    if (tls_)
      return tls_->read(data, len);
    for (;;) {
      auto n = ::recv(fd_, data, len, 0);
      if (n >= 0 || errno != EINTR)
        return n;
    }
  }

  /// Ends our direction: close_notify with TLS, then FIN.
  void finish() {
    if (tls_)
      tls_->shutdown();
    ::shutdown(fd_, SHUT_WR);
  }

  std::string cipher() const {
    return tls_ ? tls_->cipher() : "";
  }

private:
  int fd_;
  std::unique_ptr<tls_stream> tls_;
};

/// Runs `serve` on a thread with the accepted socket; rethrows what it threw
/// when joined.
class server_thread {
public:
  template<class Serve>
  server_thread(const loopback_listener& listener, const std::string& cc,
                Serve serve)
    : listen_fd_(listener.fd.get()),
      thread_([this, &listener, cc, serve]() mutable {
        try {
          serve(listener, cc);
        } catch (...) {
          error_ = std::current_exception();
        }
      }) {
  }

  /// Unwinding after a failure: wakes a thread blocked in `accept`.
  ~server_thread() {
    if (thread_.joinable()) {
      ::shutdown(listen_fd_, SHUT_RDWR);
      thread_.join();
    }
  }

  void join() {
    thread_.join();
    if (error_)
      std::rethrow_exception(error_);
  }

private:
  int listen_fd_;
  std::exception_ptr error_;
  std::thread thread_;
};

/// Reads until the end of the stream; the byte count and the time of the last
/// byte.
struct drain_result {
  uint64_t bytes = 0;
  clock_type::time_point last;
};

drain_result drain(stream_end& end) {
  drain_result result;
  std::vector<char> buf(256 * 1024);
  for (;;) {
    auto n = end.read(buf.data(), buf.size());
    if (n < 0)
      throw std::runtime_error("receiving failed");
    if (n == 0)
      return result;
    result.bytes += static_cast<uint64_t>(n);
    result.last = clock_type::now();
  }
}

} // namespace

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec)
         + static_cast<double>(ts.tv_nsec) * 1e-9;
}

transfer_figures stream_transfer(const stream_settings& settings,
                                 size_t message_size,
                                 std::chrono::duration<double> budget) {
  auto& cc = settings.congestion_control;
  auto listener = listen_loopback(cc);
  drain_result received;
  server_thread server{listener, cc,
                       [&](const loopback_listener& l, const std::string& c) {
                         auto fd = accept_pinned(l, c);
                         stream_end end{settings, fd.get(), true};
                         received = drain(end);
                       }};
  auto fd = connect_loopback(listener.port, cc);
  stream_end end{settings, fd.get(), false};
  std::vector<char> message(message_size, 0x5a);
  uint64_t sent = 0;
  auto cpu_start = process_cpu_seconds();
  auto start = clock_type::now();
  auto deadline = start
                  + std::chrono::duration_cast<clock_type::duration>(budget);
  do {
    // Batches keep the clock reads out of the measured work.
    for (int i = 0; i < 16; ++i) {
      if (!end.write(message.data(), message.size()))
        throw std::runtime_error("sending failed");
      sent += message_size;
    }
  } while (clock_type::now() < deadline);
  end.finish();
  server.join();
  auto cpu = process_cpu_seconds() - cpu_start;
  if (received.bytes != sent)
    throw std::runtime_error("the receiver got "
                             + std::to_string(received.bytes) + " bytes of "
                             + std::to_string(sent));
  return {received.bytes,
          std::chrono::duration<double>(received.last - start).count(), cpu};
}

std::vector<double> connect_times(const stream_settings& settings,
                                  size_t count) {
  auto& cc = settings.congestion_control;
  auto listener = listen_loopback(cc);
  server_thread server{listener, cc,
                       [&](const loopback_listener& l, const std::string& c) {
                         for (size_t i = 0; i < count; ++i) {
                           auto fd = accept_pinned(l, c);
                           stream_end end{settings, fd.get(), true};
                           // Wait for the client to close first.
                           drain(end);
                         }
                       }};
  std::vector<double> times;
  times.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    auto start = clock_type::now();
    auto fd = connect_loopback(listener.port, cc);
    stream_end end{settings, fd.get(), false};
    times.push_back(
      std::chrono::duration<double>(clock_type::now() - start).count());
    end.finish();
  }
  server.join();
  return times;
}

std::string negotiated_ciphersuite(const stream_settings& settings) {
  auto& cc = settings.congestion_control;
  auto listener = listen_loopback(cc);
  server_thread server{listener, cc,
                       [&](const loopback_listener& l, const std::string& c) {
                         auto fd = accept_pinned(l, c);
                         stream_end end{settings, fd.get(), true};
                         drain(end);
                       }};
  auto fd = connect_loopback(listener.port, cc);
  stream_end end{settings, fd.get(), false};
  auto name = end.cipher();
  end.finish();
  server.join();
  return name;
}

} // namespace crust::bench
