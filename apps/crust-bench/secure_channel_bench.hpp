#pragma once

#include <ostream>

namespace crust::bench {

/// Options of `crust-bench secure-channel`.
struct secure_channel_options {
  /// Alternating candidate/baseline rounds per figure (median reported).
  int rounds = 9;
  /// Seconds per round and side.
  double seconds_per_round = 0.3;
  /// One JSON object instead of lines for people.
  bool json = false;
};

/// Measures the secure channel against raw OpenSSL in the same run and
/// prints the figures. Returns 0, or 1 if something did not work at all
/// (a benchmark never fails on slowness: it reports).
int run_secure_channel_bench(const secure_channel_options& opts,
                             std::ostream& out);

} // namespace crust::bench
