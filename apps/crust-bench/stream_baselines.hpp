#pragma once

#include "tls_stream.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

/// The baselines of `crust-bench tcp`: raw TCP and a TLS 1.3 stream over
/// loopback, one sender thread writing messages on blocking sockets and one
/// receiver thread reading, the congestion control pinned on every socket.
namespace crust::bench {

/// One bulk transfer: `bytes` of payload arrived, the last of them `seconds`
/// after the sender started.
struct transfer_figures {
  uint64_t bytes = 0;
  double seconds = 0;
  /// CPU time the whole process used meanwhile (every thread, both ends).
  double cpu_seconds = 0;

  double bytes_per_second() const {
    return seconds > 0 ? static_cast<double>(bytes) / seconds : 0;
  }

  /// CPU nanoseconds per payload byte, both ends together.
  double cpu_ns_per_byte() const {
    return bytes > 0 ? cpu_seconds * 1e9 / static_cast<double>(bytes) : 0;
  }
};

/// CPU time this process used so far, every thread, in seconds.
double process_cpu_seconds();

/// The settings shared by every baseline run.
struct stream_settings {
  /// TCP_CONGESTION of every socket.
  std::string congestion_control = "cubic";
  /// Null for raw TCP.
  const tls_contexts* tls = nullptr;
};

/// Over one fresh connection (set up before the clock starts): writes
/// `message_size`-byte messages, one write call each, for `budget`, then ends
/// the stream. Throws `std::runtime_error` if anything fails.
transfer_figures stream_transfer(const stream_settings& settings,
                                 size_t message_size,
                                 std::chrono::duration<double> budget);

/// Set-up times in seconds of `count` sequential connections, each from
/// before `socket()` until the client can send (TCP connect, and with TLS
/// the client's side of the handshake). Each is closed before the next.
std::vector<double> connect_times(const stream_settings& settings,
                                  size_t count);

/// The ciphersuite a TLS connection with `tls` negotiates (one connection).
std::string negotiated_ciphersuite(const stream_settings& settings);

} // namespace crust::bench
