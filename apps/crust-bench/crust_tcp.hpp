#pragma once

#include "loopback_socket.hpp"
#include "stream_baselines.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

/// The crust side of `crust-bench tcp`, through the product path: SERVICE
/// actors (actors/service.hpp) in one actor system, each with its own io
/// thread, talking over loopback TCP. A receiving SERVICE listens; a sending
/// SERVICE connects to it once and streams messages with `send`; two probing
/// SERVICES connect and disconnect for the set-up figure.
namespace crust::bench {

/// What the sender saw, over every transfer so far (for the analysis).
struct crust_send_counters {
  /// `send` requests answered with success.
  uint64_t accepted = 0;
  /// `send` requests refused with `queue_full` (retried after a pause).
  uint64_t queue_full = 0;
};

/// Set-up times of both choice directions: the dialler has the larger id
/// (it chooses the connection itself) or the smaller one (it waits for the
/// peer's choice, half a round trip more).
struct crust_connect_times {
  std::vector<double> dialler_larger;
  std::vector<double> dialler_smaller;
};

class crust_loopback {
public:
  /// Starts the actor system and the SERVICES, listens, connects the sender
  /// and pins `congestion_control` on every TCP socket that exists then.
  /// `window` bounds the sender's outstanding `send` requests. Throws
  /// `std::runtime_error` if a step fails.
  crust_loopback(const std::string& congestion_control, size_t window);
  ~crust_loopback();
  crust_loopback(const crust_loopback&) = delete;
  crust_loopback& operator=(const crust_loopback&) = delete;

  /// Sends `message_size`-byte messages for `budget` over the established
  /// connection; the clock stops when the last payload byte reached the
  /// receiving SERVICE's subscriber.
  transfer_figures transfer(size_t message_size,
                            std::chrono::duration<double> budget);

  /// `count` sequential connects, alternating the two probing SERVICES:
  /// from the `connect` request until its answer (the connection is
  /// established and chosen), then a `disconnect`; the next starts once the
  /// listening SERVICE saw the peer go.
  crust_connect_times connect_times(size_t count);

  /// The process's TCP sockets and how many use the pinned algorithm.
  socket_census census() const;

  const crust_send_counters& counters() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace crust::bench
