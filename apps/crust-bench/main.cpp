// crust-bench: benchmarks that print ratios against baselines measured in
// the same run. Usage: crust-bench <mode> [--json] [--rounds N]
// [--seconds S] [--quick] [tcp options]. Modes: secure-channel, tcp, rudp
// (docs/benchmarks.md; the namespace section of rudp:
// docs/benchmarks-netns.md). `crust-bench __netns-role ...` is internal: one
// end of a namespace transfer.

#include "netns_role.hpp"
#include "rudp_bench.hpp"
#include "secure_channel_bench.hpp"
#include "tcp_bench.hpp"

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

const char* rudp_help
  = "  rudp options of the namespace section (needs root; otherwise it prints\n"
    "  \"skipped: <reason>\" and the loopback part still runs):\n"
    "    --no-netns            skip the namespace section\n"
    "    --netns-only          skip the loopback part\n"
    "    --netns-loss LIST     loss rates in percent, e.g. 0,1,2,5 (default "
    "1,2,5)\n"
    "    --netns-warmup S      seconds not counted after the first byte "
    "(default 1)\n"
    "    --netns-seconds S     seconds counted per transfer (default 5)\n"
    "    --netns-rounds N      transfers per cell, median reported (default "
    "1)\n"
    "    --netns-transports L  subset of "
    "crust,crust_actors,tcp_cubic,tcp_bbr,\n"
    "                          udt,srt,enet (default: all)\n"
    "  Per cell: a 100 Mbit/s tbf, nftables random loss of data packets; "
    "goodput\n"
    "  at the receiver (verified bytes / counted seconds); retransmitted "
    "bytes\n"
    "  per lost byte; share recovered by timeout. --json keys: under "
    "\"netns\"\n"
    "  (skipped, losses_percent, unavailable, cells[] with transport,\n"
    "  loss_percent, ok, goodput_mbit_s, verified, measured_loss_percent,\n"
    "  unique_bytes, retransmitted_bytes, retransmission_ratio,\n"
    "  retransmission_per_loss, timeout_share, error, ...) and flat\n"
    "  netns_<transport>_loss<N>_goodput_mbit_s; all defined in\n"
    "  docs/benchmarks-netns.md.\n";

bool parse_losses(const char* text, std::vector<int>& out) {
  out.clear();
  std::stringstream in{text};
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    auto v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 0 || v > 50)
      return false;
    out.push_back(static_cast<int>(v));
  }
  return !out.empty() && out.size() <= 10;
}

bool parse_transports(const char* text, std::vector<std::string>& out) {
  out.clear();
  std::stringstream in{text};
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item != "crust" && item != "crust_actors" && item != "tcp_cubic"
        && item != "tcp_bbr" && item != "udt" && item != "srt"
        && item != "enet")
      return false;
    out.push_back(item);
  }
  return !out.empty();
}

int usage(const char* why) {
  std::cerr
    << "crust-bench: " << why << "\n"
    << "usage: crust-bench secure-channel [--json] [--rounds N] "
       "[--seconds S] [--quick]\n"
    << "       crust-bench tcp [--json] [--rounds N] [--seconds S] [--quick]\n"
       "                       [--connects N] [--cc ALGORITHM]\n"
       "                       [--tls-ciphersuite NAME] [--window N] "
       "[--crust-only]\n"
       "       crust-bench rudp [--json] [--rounds N] [--seconds S] "
       "[--quick]\n"
       "                        [--cc loss_tolerant|new_reno] "
       "[--cipher chacha-poly|aes-gcm]\n"
       "                        [--no-netns]"
       " [--netns-only] [--netns-loss LIST]\n"
       "                        [--netns-warmup S] [--netns-seconds S]\n"
       "                        [--netns-rounds N] [--netns-transports LIST]\n"
    << rudp_help;
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2)
    return usage("no mode given");
  std::string mode = argv[1];
  if (mode == "__netns-role")
    return crust::bench::netns::run_role(argc - 2, argv + 2);
  if (mode == "--help" || mode == "-h") {
    usage("help");
    return 0;
  }
  bool tcp = mode == "tcp";
  bool rudp = mode == "rudp";
  if (!tcp && !rudp && mode != "secure-channel")
    return usage(("unknown mode " + mode).c_str());
  crust::bench::secure_channel_options sc;
  crust::bench::tcp_options tc;
  crust::bench::rudp_options ru;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char* {
      return i + 1 < argc ? argv[++i] : nullptr;
    };
    if (arg == "--json") {
      sc.json = tc.json = ru.json = true;
    } else if (arg == "--quick") {
      sc.rounds = tc.rounds = 1;
      sc.seconds_per_round = 0.05;
      tc.seconds_per_round = 0.1;
      tc.connects = 20;
      ru.rounds = 1;
      ru.seconds_per_round = 0.3;
      ru.netns.warmup = 0.3;
      ru.netns.seconds = 1;
    } else if (arg == "--rounds") {
      auto v = value();
      sc.rounds = tc.rounds = ru.rounds = v ? std::atoi(v) : 0;
      if (sc.rounds < 1 || sc.rounds > 1000)
        return usage("--rounds takes a number from 1 to 1000");
    } else if (arg == "--seconds") {
      auto v = value();
      sc.seconds_per_round = tc.seconds_per_round = ru.seconds_per_round
        = v ? std::atof(v) : 0;
      if (!(sc.seconds_per_round > 0 && sc.seconds_per_round <= 60))
        return usage("--seconds takes a number above 0 and at most 60");
    } else if (tcp && arg == "--connects") {
      auto v = value();
      auto n = v ? std::atol(v) : 0;
      if (n < 1 || n > 100000)
        return usage("--connects takes a number from 1 to 100000");
      tc.connects = static_cast<size_t>(n);
    } else if (rudp && arg == "--cc") {
      auto v = value();
      if (!v
          || (std::string{v} != "loss_tolerant"
              && std::string{v} != "new_reno"))
        return usage("rudp --cc takes loss_tolerant or new_reno");
      ru.congestion = ru.netns.crust_congestion = v;
    } else if (rudp && arg == "--cipher") {
      auto v = value();
      if (!v
          || (std::string{v} != "chacha-poly" && std::string{v} != "aes-gcm"))
        return usage("rudp --cipher takes chacha-poly or aes-gcm");
      ru.cipher = v;
    } else if (rudp && arg == "--no-netns") {
      ru.netns.enabled = false;
    } else if (rudp && arg == "--netns-only") {
      ru.loopback = false;
    } else if (rudp && arg == "--netns-loss") {
      auto v = value();
      if (!v || !parse_losses(v, ru.netns.losses))
        return usage("--netns-loss takes up to 10 comma-separated percentages "
                     "from 0 to 50");
    } else if (rudp && (arg == "--netns-warmup" || arg == "--netns-seconds")) {
      auto v = value();
      auto x = v ? std::atof(v) : -1;
      bool warm = arg == "--netns-warmup";
      if (!(x >= (warm ? 0 : 0.1) && x <= 60))
        return usage(
          (arg + " takes seconds from " + (warm ? "0" : "0.1") + " to 60")
            .c_str());
      (warm ? ru.netns.warmup : ru.netns.seconds) = x;
    } else if (rudp && arg == "--netns-rounds") {
      auto v = value();
      auto n = v ? std::atoi(v) : 0;
      if (n < 1 || n > 20)
        return usage("--netns-rounds takes a number from 1 to 20");
      ru.netns.rounds = n;
    } else if (rudp && arg == "--netns-transports") {
      auto v = value();
      if (!v || !parse_transports(v, ru.netns.transports))
        return usage("--netns-transports takes a comma-separated subset of "
                     "crust,crust_actors,tcp_cubic,tcp_bbr,udt,srt,enet");
    } else if (arg == "--help" || arg == "-h") {
      usage("help");
      return 0;
    } else if (tcp && arg == "--cc") {
      auto v = value();
      if (!v || !*v)
        return usage("--cc takes a congestion control name, e.g. cubic");
      tc.congestion_control = v;
    } else if (tcp && arg == "--tls-ciphersuite") {
      auto v = value();
      if (!v || !*v)
        return usage("--tls-ciphersuite takes a TLS 1.3 ciphersuite name");
      tc.tls_ciphersuite = v;
    } else if (tcp && arg == "--crust-only") {
      tc.baselines = false;
    } else if (tcp && arg == "--window") {
      auto v = value();
      auto n = v ? std::atol(v) : 0;
      if (n < 1 || n > 100000)
        return usage("--window takes a number from 1 to 100000");
      tc.window = static_cast<size_t>(n);
    } else {
      return usage(("unknown option " + arg).c_str());
    }
  }
  if (tcp)
    return crust::bench::run_tcp_bench(tc, std::cout);
  if (rudp)
    return crust::bench::run_rudp_bench(ru, std::cout);
  return crust::bench::run_secure_channel_bench(sc, std::cout);
}
