#pragma once

#include <cstddef>
#include <ostream>
#include <string>

namespace crust::bench {

/// Options of `crust-bench tcp`.
struct tcp_options {
  /// Rounds; each runs raw TCP, TLS and crust one after the other (median
  /// reported, ratios per round).
  int rounds = 7;
  /// Seconds of sending per transfer.
  double seconds_per_round = 0.5;
  /// Sequential connects per kind for the set-up figure, spread over the
  /// rounds.
  size_t connects = 1000;
  /// TCP_CONGESTION of every socket.
  std::string congestion_control = "cubic";
  /// The TLS 1.3 ciphersuite; ChaCha20-Poly1305 is crust's AEAD.
  std::string tls_ciphersuite = "TLS_CHACHA20_POLY1305_SHA256";
  /// Most `send` requests the crust sender keeps outstanding.
  size_t window = 64;
  /// One JSON object instead of lines for people.
  bool json = false;
  /// False skips raw TCP and TLS (their figures and the ratios print as 0):
  /// for profiling crust alone.
  bool baselines = true;
};

/// Measures crust over loopback TCP against raw TCP and TLS 1.3 in the same
/// run and prints the figures. Returns 0, or 1 if something did not work at
/// all (a benchmark never fails on slowness: it reports).
int run_tcp_bench(const tcp_options& opts, std::ostream& out);

} // namespace crust::bench
