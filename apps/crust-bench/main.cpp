// crust-bench: benchmarks that print ratios against baselines measured in
// the same run. Usage: crust-bench <mode> [--json] [--rounds N]
// [--seconds S] [--quick]. Modes: secure-channel.

#include "secure_channel_bench.hpp"

#include <cstdlib>
#include <iostream>
#include <string>

namespace {

int usage(const char* why) {
  std::cerr << "crust-bench: " << why << "\n"
            << "usage: crust-bench secure-channel [--json] [--rounds N] "
               "[--seconds S] [--quick]\n";
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2)
    return usage("no mode given");
  std::string mode = argv[1];
  crust::bench::secure_channel_options opts;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char* {
      return i + 1 < argc ? argv[++i] : nullptr;
    };
    if (arg == "--json") {
      opts.json = true;
    } else if (arg == "--quick") {
      opts.rounds = 1;
      opts.seconds_per_round = 0.05;
    } else if (arg == "--rounds") {
      auto v = value();
      opts.rounds = v ? std::atoi(v) : 0;
      if (opts.rounds < 1 || opts.rounds > 1000)
        return usage("--rounds takes a number from 1 to 1000");
    } else if (arg == "--seconds") {
      auto v = value();
      opts.seconds_per_round = v ? std::atof(v) : 0;
      if (!(opts.seconds_per_round > 0 && opts.seconds_per_round <= 60))
        return usage("--seconds takes a number above 0 and at most 60");
    } else {
      return usage(("unknown option " + arg).c_str());
    }
  }
  if (mode == "secure-channel")
    return crust::bench::run_secure_channel_bench(opts, std::cout);
  return usage(("unknown mode " + mode).c_str());
}
