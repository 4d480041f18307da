#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

/// The raw UDP baseline of `crust-bench rudp`: one thread sends datagrams
/// of rUDP's largest size as fast as the kernel takes them from one
/// loopback socket to another, one thread receives; no reliability, no
/// crypto, no order: the ceiling for any protocol over these sockets.
namespace crust::bench {

/// One direction, each side's CPU time measured on its own thread.
struct side_figures {
  uint64_t bytes = 0;
  double seconds = 0;
  double sender_cpu_seconds = 0;
  double receiver_cpu_seconds = 0;

  double gbit_per_second() const {
    return seconds > 0 ? static_cast<double>(bytes) * 8 / seconds / 1e9 : 0;
  }

  /// CPU nanoseconds per delivered byte.
  double sender_ns_per_byte() const {
    return bytes > 0 ? sender_cpu_seconds * 1e9 / static_cast<double>(bytes)
                     : 0;
  }
  double receiver_ns_per_byte() const {
    return bytes > 0 ? receiver_cpu_seconds * 1e9 / static_cast<double>(bytes)
                     : 0;
  }
};

/// Blasts `datagram_size`-byte datagrams for `budget`; bytes are those that
/// arrived. Throws `std::runtime_error` if a socket call fails.
side_figures udp_blast(size_t datagram_size,
                       std::chrono::duration<double> budget);

/// CPU time of the calling thread, in seconds.
double thread_cpu_seconds();

} // namespace crust::bench
