#include "rudp_bench.hpp"

#include "measure.hpp"
#include "rudp_loopback_pair.hpp"
#include "rudp_udp_blast.hpp"
#include "stream_baselines.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace crust::bench {

namespace {

/// rUDP's largest datagram (docs/rudp.md §8): the raw blast's size.
constexpr size_t blast_datagram = 1452;
/// The target for one session on loopback, Gbit/s.
constexpr double goodput_goal = 2.0;

double ratio(double x, double y) {
  return y > 0 ? x / y : 0;
}

/// Per-round samples.
struct figures {
  std::vector<double> rudp_gbit, rudp_tx_ns, rudp_rx_ns;
  std::vector<double> blast_gbit, blast_tx_ns, blast_rx_ns;
  std::vector<double> tcp_gbit, tcp_ns;
  std::vector<double> rudp_blast, rudp_tcp, tx_blast, rx_blast;
};

figures measure(const rudp_options& opts) {
  // First: the receiver is forked before this process has threads.
  rudp_loopback_pair rudp{
    opts.rounds,
    opts.congestion == "new_reno" ? rudp::congestion_algorithm::new_reno
                                  : rudp::congestion_algorithm::loss_tolerant,
    opts.cipher == "aes-gcm" ? noise::cipher_kind::aes_gcm
                             : noise::cipher_kind::chacha_poly};
  figures f;
  auto budget = std::chrono::duration<double>{opts.seconds_per_round};
  stream_settings tcp{"cubic", nullptr};
  for (int round = 0; round < opts.rounds; ++round) {
    // The same order in every round; each ratio is taken under one load.
    auto b = udp_blast(blast_datagram, budget);
    auto t = stream_transfer(tcp, opts.message_size, budget);
    auto r = rudp.transfer(opts.message_size, budget);
    f.blast_gbit.push_back(b.gbit_per_second());
    f.blast_tx_ns.push_back(b.sender_ns_per_byte());
    f.blast_rx_ns.push_back(b.receiver_ns_per_byte());
    f.tcp_gbit.push_back(t.bytes_per_second() * 8 / 1e9);
    f.tcp_ns.push_back(t.cpu_ns_per_byte());
    f.rudp_gbit.push_back(r.gbit_per_second());
    f.rudp_tx_ns.push_back(r.sender_ns_per_byte());
    f.rudp_rx_ns.push_back(r.receiver_ns_per_byte());
    f.rudp_blast.push_back(ratio(r.gbit_per_second(), b.gbit_per_second()));
    f.rudp_tcp.push_back(
      ratio(r.gbit_per_second(), t.bytes_per_second() * 8 / 1e9));
    f.tx_blast.push_back(ratio(r.sender_ns_per_byte(), b.sender_ns_per_byte()));
    f.rx_blast.push_back(
      ratio(r.receiver_ns_per_byte(), b.receiver_ns_per_byte()));
  }
  return f;
}

void add(std::string& body, const char* key, double value, int decimals) {
  char buf[128];
  std::snprintf(buf, sizeof(buf), "%s\"%s\":%.*f", body.empty() ? "" : ",", key,
                decimals, value);
  body += buf;
}

void print_json(const rudp_options& opts, const figures& f,
                const netns_report& ns, std::ostream& out) {
  std::string j = "\"mode\":\"rudp\"";
  add(j, "rounds", opts.rounds, 0);
  add(j, "seconds_per_round", opts.seconds_per_round, 3);
  add(j, "message_size", static_cast<double>(opts.message_size), 0);
  j += ",\"rudp_congestion\":\"" + opts.congestion + "\"";
  j += ",\"rudp_cipher\":\"" + opts.cipher + "\"";
  add(j, "rudp_goodput_gbit_s", median(f.rudp_gbit), 3);
  add(j, "rudp_goodput_goal_gbit_s", goodput_goal, 1);
  j += std::string{",\"rudp_goodput_goal_met\":"}
       + (median(f.rudp_gbit) >= goodput_goal ? "true" : "false");
  add(j, "rudp_sender_cpu_ns_per_byte", median(f.rudp_tx_ns), 3);
  add(j, "rudp_receiver_cpu_ns_per_byte", median(f.rudp_rx_ns), 3);
  add(j, "udp_blast_goodput_gbit_s", median(f.blast_gbit), 3);
  add(j, "udp_blast_sender_cpu_ns_per_byte", median(f.blast_tx_ns), 3);
  add(j, "udp_blast_receiver_cpu_ns_per_byte", median(f.blast_rx_ns), 3);
  add(j, "tcp_goodput_gbit_s", median(f.tcp_gbit), 3);
  add(j, "tcp_cpu_ns_per_byte", median(f.tcp_ns), 3);
  add(j, "goodput_rudp_udp_blast_ratio", median(f.rudp_blast), 3);
  add(j, "goodput_rudp_tcp_ratio", median(f.rudp_tcp), 3);
  add(j, "sender_cpu_rudp_udp_blast_ratio", median(f.tx_blast), 3);
  add(j, "receiver_cpu_rudp_udp_blast_ratio", median(f.rx_blast), 3);
  j += std::string{",\"loopback_ran\":"} + (opts.loopback ? "true" : "false");
  j += "," + netns_json(ns);
  out << "{" << j << "}\n";
}

void print_table(const rudp_options& opts, const figures& f,
                 std::ostream& out) {
  char line[512];
  std::snprintf(line, sizeof(line),
                "crust-bench rudp: loopback, one rUDP session (sender here, "
                "receiver in a child process)\n"
                "  %d rounds of raw UDP blast (%zu-byte datagrams), TCP "
                "(cubic, %zu-byte writes), rUDP (%zu-byte messages);\n"
                "  rUDP congestion control %s, cipher %s; %.2f s of sending "
                "each; medians; ratios per round\n\n",
                opts.rounds, blast_datagram, opts.message_size,
                opts.message_size, opts.congestion.c_str(), opts.cipher.c_str(),
                opts.seconds_per_round);
  out << line;
  out << "                                raw UDP       TCP      rUDP  "
         "rUDP/UDP  rUDP/TCP\n";
  std::snprintf(line, sizeof(line),
                "  goodput, Gbit/s            %9.3f %9.3f %9.3f %9.3f %9.3f\n",
                median(f.blast_gbit), median(f.tcp_gbit), median(f.rudp_gbit),
                median(f.rudp_blast), median(f.rudp_tcp));
  out << line;
  std::snprintf(line, sizeof(line),
                "  sender CPU, ns/byte        %9.3f %9s %9.3f %9.3f\n"
                "  receiver CPU, ns/byte      %9.3f %9s %9.3f %9.3f\n"
                "  both ends CPU, ns/byte     %9.3f %9.3f %9.3f\n",
                median(f.blast_tx_ns), "-", median(f.rudp_tx_ns),
                median(f.tx_blast), median(f.blast_rx_ns), "-",
                median(f.rudp_rx_ns), median(f.rx_blast),
                median(f.blast_tx_ns) + median(f.blast_rx_ns), median(f.tcp_ns),
                median(f.rudp_tx_ns) + median(f.rudp_rx_ns));
  out << line;
  std::snprintf(line, sizeof(line),
                "\n  goal: rUDP goodput >= %.1f Gbit/s: %s (%.3f)\n",
                goodput_goal,
                median(f.rudp_gbit) >= goodput_goal ? "met" : "NOT met",
                median(f.rudp_gbit));
  out << line;
}

} // namespace

int run_rudp_bench(const rudp_options& opts, std::ostream& out) {
  figures f;
  if (opts.loopback) {
    try {
      f = measure(opts);
    } catch (const std::exception& ex) {
      out << "rudp benchmark failed: " << ex.what() << '\n';
      return 1;
    }
    if (!opts.json)
      print_table(opts, f, out);
  } else if (!opts.json) {
    out << "crust-bench rudp: loopback part skipped (--netns-only)\n";
  }
  out.flush();
  auto ns = run_netns_bench(opts.netns);
  if (opts.json)
    print_json(opts, f, ns, out);
  else
    print_netns_table(ns, out);
  out.flush();
  if (ns.signal != 0) {
    std::signal(ns.signal, SIG_DFL);
    std::raise(ns.signal);
  }
  return 0;
}

} // namespace crust::bench
