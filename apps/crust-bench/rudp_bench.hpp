#pragma once

#include "netns_bench.hpp"

#include <cstddef>
#include <ostream>
#include <string>

namespace crust::bench {

/// Options of `crust-bench rudp`.
struct rudp_options {
  /// Rounds; each runs raw UDP, TCP and rUDP one after the other (median
  /// reported, ratios per round).
  int rounds = 5;
  /// Seconds of sending per transfer.
  double seconds_per_round = 1.0;
  /// Application message size of the rUDP and TCP transfers.
  size_t message_size = 64 * 1024;
  /// The rUDP congestion controller of both ends: "loss_tolerant" (the
  /// engine's default) or "new_reno".
  std::string congestion = "loss_tolerant";
  /// The AEAD of both ends' loopback session: "chacha-poly" (the default,
  /// as `crust.cipher`) or "aes-gcm".
  std::string cipher = "chacha-poly";
  /// One JSON object instead of lines for people.
  bool json = false;
  /// The loopback part runs (`--netns-only` turns it off).
  bool loopback = true;
  /// The namespace section, after the loopback part (netns_bench.hpp).
  netns_options netns;
};

/// Measures one rUDP session on loopback (sender here, receiver in a child
/// process, so that each side's CPU time is its own) against a raw UDP
/// blast and a raw TCP stream in the same run, and prints the figures.
/// Then the namespace section (netns_bench.hpp), whose table follows and
/// whose keys join the JSON object. Returns 0, or 1 if something did not
/// work at all. A signal that ended the namespace section is re-raised
/// after the output.
int run_rudp_bench(const rudp_options& opts, std::ostream& out);

} // namespace crust::bench
