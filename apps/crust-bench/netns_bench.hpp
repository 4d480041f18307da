#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

/// The namespace section of `crust-bench rudp`: crust rUDP, Linux TCP
/// (CUBIC and BBR) and, when built with them, UDT, SRT and ENet, each in
/// one transfer across the namespace pair of netns_lab.hpp at every loss
/// rate. Keys and definitions: docs/benchmarks.md and `--help`.
namespace crust::bench {

struct netns_options {
  /// False: the section prints "skipped: --no-netns".
  bool enabled = true;
  /// Random loss rates of the data packets, percent (0-50).
  std::vector<int> losses = {1, 2, 5};
  /// Seconds after the receiver's first byte that do not count, and
  /// seconds that do.
  double warmup = 1;
  double seconds = 5;
  /// Transfers per cell; the one with the median goodput is reported.
  int rounds = 1;
  /// The rUDP congestion controller ("loss_tolerant" or "new_reno").
  std::string crust_congestion = "loss_tolerant";
  /// Transport ids to run (crust, crust_actors, tcp_cubic, tcp_bbr, udt,
  /// srt, enet);
  /// empty: all.
  std::vector<std::string> transports;
};

/// One transfer.
struct netns_cell {
  std::string transport;
  int loss_percent = 0;
  /// Measured, verified and complete; otherwise `error` says why.
  bool ok = false;
  std::string error;
  double goodput_mbit_s = 0;
  /// Every round's goodput, in the order run.
  std::vector<double> goodput_samples;
  /// Every byte the receiver got matched the pattern, in order.
  bool verified = false;
  /// Data packets dropped / data packets that reached the receiver's
  /// input hook (nftables counters), percent.
  double measured_loss_percent = 0;
  /// Bytes the sender sent again / bytes it sent once (negative: unknown).
  double retransmission_ratio = -1;
  /// That ratio divided by the measured loss rate: 1 means each lost byte
  /// was sent once more, above 1 spurious retransmissions.
  double retransmission_per_loss = -1;
  /// Share of the loss recovery done by a timer (negative: no counter);
  /// per-transport definition in docs/benchmarks.md.
  double timeout_share = -1;
  /// The roles' raw `result` fields.
  std::map<std::string, std::string> sender;
  std::map<std::string, std::string> receiver;
};

struct netns_report {
  /// Why the section did not run (empty: it ran).
  std::string skipped;
  /// Transport ids in display order, and why one is absent (not built,
  /// BBR unavailable).
  std::vector<std::string> transports;
  std::map<std::string, std::string> unavailable;
  std::vector<int> losses;
  double warmup = 0;
  double seconds = 0;
  int rounds = 1;
  std::string crust_congestion;
  std::vector<netns_cell> cells;
  /// Wall-clock seconds of the whole section.
  double wall_seconds = 0;
  /// Set if a signal ended the section: the caller re-raises it.
  int signal = 0;

  const netns_cell* find(const std::string& transport, int loss) const;
};

/// Runs the section (root only; otherwise `skipped`). Installs handlers of
/// SIGINT, SIGTERM and SIGHUP for its duration, tears the lab down on every
/// exit path.
netns_report run_netns_bench(const netns_options& opts);

/// The human-readable table.
void print_netns_table(const netns_report& report, std::ostream& out);

/// `"netns":{...}` (documented in docs/benchmarks.md), for the JSON object.
std::string netns_json(const netns_report& report);

/// The goodput goal of crust at a loss rate (issue 5), Mbit/s; 0 if none.
double netns_crust_goal(int loss_percent);

} // namespace crust::bench
