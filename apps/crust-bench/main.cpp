// crust-bench: benchmarks that print ratios against baselines measured in
// the same run. Usage: crust-bench <mode> [--json] [--rounds N]
// [--seconds S] [--quick] [tcp options]. Modes: secure-channel, tcp, rudp
// (docs/benchmarks.md).

#include "rudp_bench.hpp"
#include "secure_channel_bench.hpp"
#include "tcp_bench.hpp"

#include <cstdlib>
#include <iostream>
#include <string>

namespace {

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
       "                        [--cc loss_tolerant|new_reno]\n";
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2)
    return usage("no mode given");
  std::string mode = argv[1];
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
      ru.congestion = v;
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
