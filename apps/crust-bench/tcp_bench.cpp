#include "tcp_bench.hpp"

#include "crust_tcp.hpp"
#include "measure.hpp"
#include "stream_baselines.hpp"
#include "tls_stream.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace crust::bench {

namespace {

constexpr size_t bulk_message = 64 * 1024;
constexpr size_t small_message = 1024;
constexpr double goodput_goal = 0.6;

/// Per-round samples of one figure for the three kinds, and the per-round
/// ratios (each taken under one machine load).
struct series {
  std::vector<double> raw, tls, crust, crust_raw, crust_tls;

  void add(double r, double t, double c) {
    raw.push_back(r);
    tls.push_back(t);
    crust.push_back(c);
    crust_raw.push_back(r > 0 ? c / r : 0);
    crust_tls.push_back(t > 0 ? c / t : 0);
  }
};

struct spread {
  double median = 0, min = 0, max = 0;
};

spread spread_of(const std::vector<double>& xs) {
  if (xs.empty())
    return {};
  auto [lo, hi] = std::minmax_element(xs.begin(), xs.end());
  return {median(xs), *lo, *hi};
}

/// Nearest-rank percentile `p` (0..100) of `xs`.
double percentile(std::vector<double> xs, double p) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * xs.size()));
  return xs[std::clamp<size_t>(rank, 1, xs.size()) - 1];
}

struct latency {
  double p50 = 0, p99 = 0;
};

latency latency_of(const std::vector<double>& seconds) {
  return {percentile(seconds, 50) * 1e6, percentile(seconds, 99) * 1e6};
}

struct figures {
  series goodput;     // Gbit/s, 64 KiB messages
  series goodput_cpu; // CPU ns per payload byte, 64 KiB messages
  series rate;        // messages/s, 1 KiB messages
  series rate_cpu;    // CPU µs per message, 1 KiB messages
  std::vector<double> setup_raw, setup_tls, setup_crust;
  crust_connect_times setup_crust_by_choice;
  std::string ciphersuite;
  socket_census crust_sockets;
  crust_send_counters sender;
};

double gbit_per_second(const transfer_figures& x) {
  return x.bytes_per_second() * 8 / 1e9;
}

double messages_per_second(const transfer_figures& x, size_t size) {
  return x.bytes_per_second() / static_cast<double>(size);
}

void append(std::vector<double>& to, const std::vector<double>& xs) {
  to.insert(to.end(), xs.begin(), xs.end());
}

figures measure(const tcp_options& opts) {
  figures f;
  auto budget = std::chrono::duration<double>{opts.seconds_per_round};
  tls_contexts tls{opts.tls_ciphersuite};
  stream_settings raw_tcp{opts.congestion_control, nullptr};
  stream_settings tls_tcp{opts.congestion_control, &tls};
  if (opts.baselines)
    f.ciphersuite = negotiated_ciphersuite(tls_tcp);
  crust_loopback crust{opts.congestion_control, opts.window};
  f.crust_sockets = crust.census();
  auto rounds = static_cast<size_t>(opts.rounds);
  for (size_t round = 0; round < rounds; ++round) {
    // The same order in every round; the machine's load changes between
    // rounds, and each ratio is taken within one.
    auto baseline = [&](const stream_settings& s, size_t size) {
      return opts.baselines ? stream_transfer(s, size, budget)
                            : transfer_figures{};
    };
    auto g_raw = baseline(raw_tcp, bulk_message);
    auto g_tls = baseline(tls_tcp, bulk_message);
    auto g_crust = crust.transfer(bulk_message, budget);
    f.goodput.add(gbit_per_second(g_raw), gbit_per_second(g_tls),
                  gbit_per_second(g_crust));
    f.goodput_cpu.add(g_raw.cpu_ns_per_byte(), g_tls.cpu_ns_per_byte(),
                      g_crust.cpu_ns_per_byte());
    auto m_raw = baseline(raw_tcp, small_message);
    auto m_tls = baseline(tls_tcp, small_message);
    auto m_crust = crust.transfer(small_message, budget);
    f.rate.add(messages_per_second(m_raw, small_message),
               messages_per_second(m_tls, small_message),
               messages_per_second(m_crust, small_message));
    auto per_message_us = [](const transfer_figures& x) {
      return x.cpu_ns_per_byte() * small_message / 1e3;
    };
    f.rate_cpu.add(per_message_us(m_raw), per_message_us(m_tls),
                   per_message_us(m_crust));
    // Spread the connects evenly over the rounds.
    auto n = opts.connects * (round + 1) / rounds
             - opts.connects * round / rounds;
    if (opts.baselines) {
      append(f.setup_raw, connect_times(raw_tcp, n));
      append(f.setup_tls, connect_times(tls_tcp, n));
    }
    auto c = crust.connect_times(n);
    append(f.setup_crust, c.dialler_larger);
    append(f.setup_crust, c.dialler_smaller);
    append(f.setup_crust_by_choice.dialler_larger, c.dialler_larger);
    append(f.setup_crust_by_choice.dialler_smaller, c.dialler_smaller);
  }
  f.sender = crust.counters();
  return f;
}

double ratio(double x, double y) {
  return y > 0 ? x / y : 0;
}

/// Appends `"key":value` pairs to a JSON object under construction.
class json_object {
public:
  void number(const char* key, double value, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
    raw(key, buf);
  }

  void text(const char* key, const std::string& value) {
    raw(key, "\"" + value + "\"");
  }

  void boolean(const char* key, bool value) {
    raw(key, value ? "true" : "false");
  }

  /// `prefix`_raw`suffix`, _tls, _crust, and the ratios with their spread.
  void figure(const std::string& prefix, const std::string& suffix,
              const series& s, int decimals) {
    number((prefix + "_raw" + suffix).c_str(), spread_of(s.raw).median,
           decimals);
    number((prefix + "_tls" + suffix).c_str(), spread_of(s.tls).median,
           decimals);
    number((prefix + "_crust" + suffix).c_str(), spread_of(s.crust).median,
           decimals);
    ratios(prefix + "_crust_raw_ratio", s.crust_raw);
    ratios(prefix + "_crust_tls_ratio", s.crust_tls);
  }

  std::string str() const {
    return "{" + body_ + "}";
  }

private:
  void ratios(const std::string& key, const std::vector<double>& xs) {
    auto r = spread_of(xs);
    number(key.c_str(), r.median, 3);
    number((key + "_min").c_str(), r.min, 3);
    number((key + "_max").c_str(), r.max, 3);
  }

  void raw(const char* key, const std::string& value) {
    if (!body_.empty())
      body_ += ',';
    body_ += '"';
    body_ += key;
    body_ += "\":";
    body_ += value;
  }

  std::string body_;
};

/// Goodput per CPU-second of crust over TLS: the inverse of the CPU ratio.
/// Unlike wall-clock goodput it does not depend on how much of the shared
/// machine each side got (a pipeline with more threads gets a larger share
/// of a contended CPU), so it is what an idle machine would show when both
/// are CPU-bound.
double per_cpu_ratio(const std::vector<double>& cpu_ratios) {
  auto r = spread_of(cpu_ratios).median;
  return r > 0 ? 1 / r : 0;
}

void print_json(const tcp_options& opts, const figures& f, std::ostream& out) {
  json_object j;
  j.text("mode", "tcp");
  j.number("rounds", opts.rounds, 0);
  j.number("seconds_per_round", opts.seconds_per_round, 3);
  j.text("congestion_control", opts.congestion_control);
  j.number("crust_tcp_sockets", static_cast<double>(f.crust_sockets.tcp), 0);
  j.number("crust_tcp_sockets_pinned",
           static_cast<double>(f.crust_sockets.pinned), 0);
  j.text("tls_ciphersuite", f.ciphersuite);
  j.number("crust_window", static_cast<double>(opts.window), 0);
  j.figure("goodput_64k", "_gbit_s", f.goodput, 3);
  j.number("goodput_goal_crust_tls", goodput_goal, 2);
  j.boolean("goodput_goal_met",
            spread_of(f.goodput.crust_tls).median >= goodput_goal);
  j.number("goodput_per_cpu_64k_crust_tls_ratio",
           per_cpu_ratio(f.goodput_cpu.crust_tls), 3);
  j.figure("cpu_64k", "_ns_per_byte", f.goodput_cpu, 3);
  j.figure("messages_1k", "_per_s", f.rate, 0);
  j.figure("cpu_1k", "_us_per_message", f.rate_cpu, 3);
  j.number("setup_connects", static_cast<double>(f.setup_crust.size()), 0);
  auto s_raw = latency_of(f.setup_raw);
  auto s_tls = latency_of(f.setup_tls);
  auto s_crust = latency_of(f.setup_crust);
  auto s_larger = latency_of(f.setup_crust_by_choice.dialler_larger);
  auto s_smaller = latency_of(f.setup_crust_by_choice.dialler_smaller);
  j.number("setup_raw_p50_us", s_raw.p50, 1);
  j.number("setup_raw_p99_us", s_raw.p99, 1);
  j.number("setup_tls_p50_us", s_tls.p50, 1);
  j.number("setup_tls_p99_us", s_tls.p99, 1);
  j.number("setup_crust_p50_us", s_crust.p50, 1);
  j.number("setup_crust_p99_us", s_crust.p99, 1);
  j.number("setup_crust_dialler_larger_p50_us", s_larger.p50, 1);
  j.number("setup_crust_dialler_larger_p99_us", s_larger.p99, 1);
  j.number("setup_crust_dialler_smaller_p50_us", s_smaller.p50, 1);
  j.number("setup_crust_dialler_smaller_p99_us", s_smaller.p99, 1);
  j.number("setup_p50_crust_raw_ratio", ratio(s_crust.p50, s_raw.p50), 3);
  j.number("setup_p50_crust_tls_ratio", ratio(s_crust.p50, s_tls.p50), 3);
  j.number("setup_p99_crust_raw_ratio", ratio(s_crust.p99, s_raw.p99), 3);
  j.number("setup_p99_crust_tls_ratio", ratio(s_crust.p99, s_tls.p99), 3);
  j.number("crust_sends_accepted", static_cast<double>(f.sender.accepted), 0);
  j.number("crust_sends_queue_full", static_cast<double>(f.sender.queue_full),
           0);
  out << j.str() << '\n';
}

void print_table(const tcp_options& opts, const figures& f, std::ostream& out) {
  char line[512];
  std::snprintf(line, sizeof(line),
                "crust-bench tcp: loopback, congestion control %s on every "
                "socket (crust: %zu of %zu TCP sockets)\n"
                "  TLS 1.3 %s; crust Noise_XX_25519_ChaChaPoly_SHA256 "
                "through the SERVICE (window %zu sends)\n"
                "  %d rounds of raw, TLS, crust; %.2f s of sending each; "
                "medians; ratios per round, median [min..max]\n\n",
                opts.congestion_control.c_str(), f.crust_sockets.pinned,
                f.crust_sockets.tcp, f.ciphersuite.c_str(), opts.window,
                opts.rounds, opts.seconds_per_round);
  out << line;
  out << "                           raw TCP     TLS 1.3       crust  "
         "crust/raw              crust/TLS\n";
  auto row = [&](const char* name, const series& s, int decimals) {
    auto cr = spread_of(s.crust_raw);
    auto ct = spread_of(s.crust_tls);
    std::snprintf(line, sizeof(line),
                  "  %-22s %10.*f  %10.*f  %10.*f  %.3f [%.3f..%.3f]  %.3f "
                  "[%.3f..%.3f]\n",
                  name, decimals, spread_of(s.raw).median, decimals,
                  spread_of(s.tls).median, decimals, spread_of(s.crust).median,
                  cr.median, cr.min, cr.max, ct.median, ct.min, ct.max);
    out << line;
  };
  row("goodput 64 KiB, Gbit/s", f.goodput, 2);
  row("  CPU, ns/byte", f.goodput_cpu, 3);
  row("1 KiB messages/s", f.rate, 0);
  row("  CPU, us/message", f.rate_cpu, 2);
  auto s_raw = latency_of(f.setup_raw);
  auto s_tls = latency_of(f.setup_tls);
  auto s_crust = latency_of(f.setup_crust);
  auto latency_row = [&](const char* name, double r, double t, double c) {
    std::snprintf(line, sizeof(line),
                  "  %-22s %10.1f  %10.1f  %10.1f  %.3f                  "
                  "%.3f\n",
                  name, r, t, c, ratio(c, r), ratio(c, t));
    out << line;
  };
  latency_row("set-up p50, us", s_raw.p50, s_tls.p50, s_crust.p50);
  latency_row("set-up p99, us", s_raw.p99, s_tls.p99, s_crust.p99);
  auto goodput_ratio = spread_of(f.goodput.crust_tls).median;
  auto s_larger = latency_of(f.setup_crust_by_choice.dialler_larger);
  auto s_smaller = latency_of(f.setup_crust_by_choice.dialler_smaller);
  std::snprintf(
    line, sizeof(line),
    "\n  goal: crust goodput >= %.1f of TLS: %s (%.3f); per CPU-second "
    "%.3f (load-independent)\n"
    "  set-up: %zu sequential connects per kind; crust when the dialler "
    "chooses (larger id) p50 %.1f us, p99 %.1f us;\n"
    "  when it waits for the peer's choice p50 %.1f us, p99 %.1f us\n"
    "  crust sender: %llu sends accepted, %llu refused with queue_full "
    "(retried)\n",
    goodput_goal, goodput_ratio >= goodput_goal ? "met" : "NOT met",
    goodput_ratio, per_cpu_ratio(f.goodput_cpu.crust_tls), f.setup_crust.size(),
    s_larger.p50, s_larger.p99, s_smaller.p50, s_smaller.p99,
    static_cast<unsigned long long>(f.sender.accepted),
    static_cast<unsigned long long>(f.sender.queue_full));
  out << line;
}

} // namespace

int run_tcp_bench(const tcp_options& opts, std::ostream& out) {
  figures f;
  try {
    f = measure(opts);
  } catch (const std::exception& ex) {
    out << "tcp benchmark failed: " << ex.what() << '\n';
    return 1;
  }
  if (opts.json)
    print_json(opts, f, out);
  else
    print_table(opts, f, out);
  return 0;
}

} // namespace crust::bench
