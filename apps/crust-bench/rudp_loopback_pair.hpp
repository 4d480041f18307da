#pragma once

#include "crust/transport/noise/primitives.hpp"
#include "crust/transport/rudp/congestion_controller.hpp"

#include "rudp_udp_blast.hpp"

#include <chrono>
#include <cstddef>
#include <memory>

/// The rUDP side of `crust-bench rudp`, through the product path: a UDP
/// ENDPOINT and an rUDP SESSION (actors/udp_endpoint.hpp) in this process
/// send; a child process with its own actor system, io thread and endpoint
/// receives, so that each side's CPU time is measured on its own.
namespace crust::bench {

class rudp_loopback_pair {
public:
  /// Forks the receiver (call before this process starts any thread),
  /// which serves `rounds` transfers; then starts the sender's actor
  /// system and connects; both ends use `congestion` and `cipher`. Throws
  /// `std::runtime_error` if a step fails.
  rudp_loopback_pair(int rounds, rudp::congestion_algorithm congestion,
                     noise::cipher_kind cipher);
  ~rudp_loopback_pair();
  rudp_loopback_pair(const rudp_loopback_pair&) = delete;
  rudp_loopback_pair& operator=(const rudp_loopback_pair&) = delete;

  /// Sends `message_size`-byte messages for `budget`, then an empty one
  /// that marks the end; the clock stops when the receiver reports that it
  /// got the marker. Sender CPU: this whole process; receiver CPU: the
  /// child.
  side_figures transfer(size_t message_size,
                        std::chrono::duration<double> budget);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace crust::bench
