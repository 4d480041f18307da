#include "netns_bench.hpp"

#include "netns_lab.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace crust::bench {

namespace {

using clock_type = std::chrono::steady_clock;
using netns::lab;
using netns::role_process;

double since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

/// What one transport id runs.
struct transport_spec {
  const char* id;
  const char* label;
  const char* role_transport;
  const char* cc;
  bool built;
  const char* package;
};

constexpr bool have_udt =
#ifdef CRUST_BENCH_HAVE_UDT
  true;
#else
  false;
#endif
constexpr bool have_srt =
#ifdef CRUST_BENCH_HAVE_SRT
  true;
#else
  false;
#endif
constexpr bool have_enet =
#ifdef CRUST_BENCH_HAVE_ENET
  true;
#else
  false;
#endif

const transport_spec specs[] = {
  {"crust", "crust rUDP engine", "crust", "", true, ""},
  {"crust_actors", "crust rUDP actors", "crust_actors", "", true, ""},
  {"tcp_cubic", "TCP CUBIC", "tcp", "cubic", true, ""},
  {"tcp_bbr", "TCP BBR", "tcp", "bbr", true, ""},
  {"udt", "UDT", "udt", "", have_udt, "libudt-dev"},
  {"srt", "SRT (file)", "srt", "", have_srt, "libsrt-openssl-dev"},
  {"enet", "ENet", "enet", "", have_enet, "libenet-dev"},
};

const transport_spec* spec_of(const std::string& id) {
  for (const auto& s : specs)
    if (id == s.id)
      return &s;
  return nullptr;
}

void on_signal(int sig) {
  netns::stop_signal = sig;
}

/// Installs the section's signal handlers; restores the old ones.
class signal_scope {
public:
  signal_scope() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < 3; ++i)
      ::sigaction(sigs_[i], &sa, &old_[i]);
  }
  ~signal_scope() {
    for (size_t i = 0; i < 3; ++i)
      ::sigaction(sigs_[i], &old_[i], nullptr);
  }
  signal_scope(const signal_scope&) = delete;
  signal_scope& operator=(const signal_scope&) = delete;

private:
  int sigs_[3] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction old_[3];
};

void check_stop() {
  if (netns::stop_signal != 0)
    throw netns::interrupted{netns::stop_signal};
}

std::map<std::string, std::string> parse_fields(const std::string& line) {
  std::map<std::string, std::string> out;
  std::istringstream in{line};
  std::string word;
  in >> word; // "result"
  while (in >> word) {
    auto eq = word.find('=');
    if (eq != std::string::npos)
      out[word.substr(0, eq)] = word.substr(eq + 1);
  }
  return out;
}

double num(const std::map<std::string, std::string>& m, const char* key,
           double fallback = -1) {
  auto i = m.find(key);
  if (i == m.end())
    return fallback;
  char* end = nullptr;
  auto x = std::strtod(i->second.c_str(), &end);
  return end && *end == '\0' && std::isfinite(x) ? x : fallback;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

/// Why `bbr` cannot be set per socket, or empty.
std::string bbr_unavailable() {
  auto available = [] {
    std::ifstream f{"/proc/sys/net/ipv4/tcp_available_congestion_control"};
    std::string all;
    std::getline(f, all);
    return " " + all + " ";
  };
  if (available().find(" bbr ") != std::string::npos)
    return {};
  auto r = netns::run_command({"modprobe", "tcp_bbr"}, 10);
  if (available().find(" bbr ") != std::string::npos)
    return {};
  return "BBR is not available (modprobe tcp_bbr: "
         + (r.code == -1 && r.output.empty() ? std::string{"did not run"}
                                             : trimmed(r.output))
         + ")";
}

/// The role's error line, or what else it said last, or its exit.
std::string role_failure(const role_process& p, const char* who) {
  if (auto* e = p.line_with("error"))
    return std::string{who} + ": " + e->substr(6);
  auto other = p.last_other_line();
  return std::string{who} + ": no result"
         + (other.empty() ? std::string{} : " (" + other + ")");
}

netns_cell run_cell(lab& l, const std::string& self, const transport_spec& spec,
                    int loss, const netns_options& opts, uint16_t port) {
  netns_cell cell;
  cell.transport = spec.id;
  cell.loss_percent = loss;
  l.set_loss(loss);
  // The sender goes on a little after the receiver's window closes.
  auto send_seconds = opts.warmup + opts.seconds
                      + (opts.seconds >= 3 ? 1 : 0.5);
  // Room for a slow handshake and the close.
  auto bound = send_seconds + 12;
  std::string cc = spec.cc;
  if (std::string{spec.role_transport}.rfind("crust", 0) == 0)
    cc = opts.crust_congestion;
  std::vector<std::string> common{
    std::string{"address="} + lab::receiver_address,
    "port=" + std::to_string(port),
    "warmup=" + std::to_string(opts.warmup),
    "seconds=" + std::to_string(opts.seconds),
    "send_seconds=" + std::to_string(send_seconds),
    "bound=" + std::to_string(bound)};
  if (!cc.empty())
    common.push_back("cc=" + cc);
  auto args = [&](const char* role) {
    std::vector<std::string> out{role, spec.role_transport};
    out.insert(out.end(), common.begin(), common.end());
    return out;
  };
  role_process receiver{self, l.receiver_ns(), args("receive")};
  auto start = clock_type::now();
  while (!receiver.line_with("ready") && !receiver.line_with("error")
         && since(start) < 5 && receiver.pump(0.05))
    check_stop();
  if (!receiver.line_with("ready")) {
    cell.error = role_failure(receiver, "receiver");
    return cell;
  }
  role_process sender{self, l.sender_ns(), args("send")};
  start = clock_type::now();
  std::optional<clock_type::time_point> sender_done;
  bool term_sent = false;
  bool timed_out = false;
  for (;;) {
    check_stop();
    bool r_open = receiver.pump(0.02);
    bool s_open = sender.pump(0.02);
    bool s_exit = !s_open && sender.exited();
    bool r_exit = !r_open && receiver.exited();
    if (s_exit && !sender_done)
      sender_done = clock_type::now();
    // The sender is done: the receiver reports now (it has what it needs).
    if (sender_done && !term_sent && !r_exit && since(*sender_done) > 1.5) {
      receiver.signal(SIGTERM);
      term_sent = true;
    }
    if (s_exit && r_exit)
      break;
    if (since(start) > bound + 2) {
      timed_out = true;
      break;
    }
  }
  sender.kill_and_reap();
  receiver.kill_and_reap();
  auto counters = l.read_counters();
  if (counters.packets > 0)
    cell.measured_loss_percent = 100.0 * static_cast<double>(counters.dropped)
                                 / static_cast<double>(counters.packets);
  const auto* s_line = sender.line_with("result");
  const auto* r_line = receiver.line_with("result");
  if (!s_line || !r_line) {
    cell.error = !r_line ? role_failure(receiver, "receiver")
                         : role_failure(sender, "sender");
    if (timed_out)
      cell.error += " (timed out)";
    return cell;
  }
  cell.sender = parse_fields(*s_line);
  cell.receiver = parse_fields(*r_line);
  cell.goodput_mbit_s = num(cell.receiver, "goodput_mbit_s", 0);
  cell.verified = num(cell.receiver, "verified", 0) == 1;
  bool complete = num(cell.receiver, "complete", 0) == 1;
  auto unique = num(cell.sender, "unique_bytes");
  auto retrans = num(cell.sender, "retransmitted_bytes");
  if (unique > 0 && retrans >= 0) {
    cell.retransmission_ratio = retrans / unique;
    if (cell.measured_loss_percent > 0)
      cell.retransmission_per_loss = cell.retransmission_ratio
                                     / (cell.measured_loss_percent / 100);
  }
  cell.timeout_share = num(cell.sender, "timeout_share");
  if (!cell.verified)
    cell.error = "the received bytes do not match what was sent (offset "
                 + cell.receiver["first_bad_offset"] + ")";
  else if (!complete)
    cell.error = "the transfer ended before the measuring window did ("
                 + cell.receiver["total_bytes"] + " bytes in all)";
  else
    cell.ok = true;
  return cell;
}

std::string fixed(double x, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, x);
  return buf;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string json_number(double x, int decimals) {
  return x < 0 ? "null" : fixed(x, decimals);
}

/// The cell of several rounds: the round with the median goodput (ties:
/// the earlier), its goodput samples attached; failed if any round failed.
std::optional<netns_cell> merge(const std::vector<netns_cell>& runs,
                                const std::string& id, int loss) {
  std::vector<const netns_cell*> xs;
  for (const auto& c : runs)
    if (c.transport == id && c.loss_percent == loss)
      xs.push_back(&c);
  if (xs.empty())
    return std::nullopt;
  for (const auto* c : xs)
    if (!c->ok) {
      auto out = *c;
      for (const auto* x : xs)
        out.goodput_samples.push_back(x->goodput_mbit_s);
      return out;
    }
  auto sorted = xs;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const netns_cell* a, const netns_cell* b) {
                     return a->goodput_mbit_s < b->goodput_mbit_s;
                   });
  auto out = *sorted[(sorted.size() - 1) / 2];
  for (const auto* x : xs)
    out.goodput_samples.push_back(x->goodput_mbit_s);
  return out;
}

} // namespace

const netns_cell* netns_report::find(const std::string& transport,
                                     int loss) const {
  for (const auto& c : cells)
    if (c.transport == transport && c.loss_percent == loss)
      return &c;
  return nullptr;
}

double netns_crust_goal(int loss_percent) {
  switch (loss_percent) {
    case 1: return 90;
    case 2: return 85;
    case 5: return 60;
    default: return 0;
  }
}

netns_report run_netns_bench(const netns_options& opts) {
  netns_report rep;
  rep.losses = opts.losses;
  rep.warmup = opts.warmup;
  rep.seconds = opts.seconds;
  rep.crust_congestion = opts.crust_congestion;
  rep.rounds = opts.rounds;
  for (const auto& s : specs)
    if (opts.transports.empty()
        || std::find(opts.transports.begin(), opts.transports.end(), s.id)
             != opts.transports.end())
      rep.transports.push_back(s.id);
  auto start = clock_type::now();
  if (!opts.enabled) {
    rep.skipped = "--no-netns";
    return rep;
  }
  rep.skipped = lab::skip_reason();
  if (!rep.skipped.empty())
    return rep;
  for (const auto& id : rep.transports) {
    const auto* s = spec_of(id);
    if (!s->built)
      rep.unavailable[id] = std::string{"not built: "} + s->package
                            + " was not found at configure time";
  }
  if (std::find(rep.transports.begin(), rep.transports.end(), "tcp_bbr")
      != rep.transports.end())
    if (auto why = bbr_unavailable(); !why.empty())
      rep.unavailable["tcp_bbr"] = why;
  netns::stop_signal = 0;
  signal_scope signals;
  try {
    auto self = netns::self_executable();
    std::unique_ptr<lab> l;
    try {
      l = std::make_unique<lab>();
    } catch (const std::runtime_error& ex) {
      rep.skipped = ex.what();
      return rep;
    }
    auto port = lab::first_port;
    // Rounds outermost, so that repeated cells see different moments of
    // the machine's load.
    std::vector<netns_cell> runs;
    for (int round = 0; round < opts.rounds; ++round)
      for (int loss : opts.losses)
        for (const auto& id : rep.transports) {
          if (rep.unavailable.count(id))
            continue;
          check_stop();
          try {
            runs.push_back(run_cell(*l, self, *spec_of(id), loss, opts, port));
          } catch (const std::runtime_error& ex) {
            netns_cell c;
            c.transport = id;
            c.loss_percent = loss;
            c.error = ex.what();
            runs.push_back(c);
          }
          if (++port > lab::last_port)
            port = lab::first_port;
        }
    for (int loss : opts.losses)
      for (const auto& id : rep.transports)
        if (auto merged = merge(runs, id, loss))
          rep.cells.push_back(*merged);
  } catch (const netns::interrupted& sig) {
    // The lab's destructor has run (stack unwinding): nothing is left.
    rep.signal = sig.signal;
  }
  rep.wall_seconds = since(start);
  return rep;
}

void print_netns_table(const netns_report& rep, std::ostream& out) {
  out << "\ncrust-bench rudp: namespace pair (veth, tbf 100 Mbit/s on the "
         "sender's egress, nftables\n"
         "  random drop of data packets in the receiver's namespace; no "
         "link to the root namespace)\n";
  if (!rep.skipped.empty()) {
    out << "  skipped: " << rep.skipped << "\n";
    return;
  }
  char line[512];
  std::snprintf(line, sizeof(line),
                "  %d transfer(s) per cell (median goodput): %.1f s warm-up, "
                "then %.1f s counted at\n"
                "  the receiver (bytes delivered in order and checked); rUDP "
                "congestion control %s\n\n",
                rep.rounds, rep.warmup, rep.seconds,
                rep.crust_congestion.c_str());
  out << line;
  auto header = [&](const char* title) {
    std::string h = "  " + std::string{title};
    h.resize(22, ' ');
    for (int loss : rep.losses) {
      auto col = std::to_string(loss) + " %";
      h += std::string(9 - std::min<size_t>(9, col.size()), ' ') + col;
    }
    out << h << "\n";
  };
  auto row = [&](const std::string& id, auto value) {
    const auto* s = spec_of(id);
    std::string r = "  " + std::string{s ? s->label : id.c_str()};
    r.resize(22, ' ');
    if (rep.unavailable.count(id)) {
      out << r << rep.unavailable.at(id) << "\n";
      return;
    }
    for (int loss : rep.losses) {
      const auto* c = rep.find(id, loss);
      std::string v = !c ? "-" : value(*c);
      r += std::string(9 - std::min<size_t>(9, v.size()), ' ') + v;
    }
    out << r << "\n";
  };
  header("goodput, Mbit/s");
  for (const auto& id : rep.transports) {
    row(id, [](const netns_cell& c) {
      return c.ok ? fixed(c.goodput_mbit_s, 1) : std::string{"failed"};
    });
    // The goal line follows the last crust row: "met" if every crust row
    // reaches it.
    auto is_crust = [](const std::string& x) {
      return x == "crust" || x == "crust_actors";
    };
    auto next = std::find(rep.transports.begin(), rep.transports.end(), id);
    bool last_crust = is_crust(id)
                      && std::none_of(next + 1, rep.transports.end(), is_crust);
    if (last_crust) {
      std::string r = "    goal (crust)";
      r.resize(22, ' ');
      for (int loss : rep.losses) {
        auto g = netns_crust_goal(loss);
        std::string v = g > 0 ? fixed(g, 0) : "-";
        bool any = false;
        bool all = true;
        for (const char* x : {"crust", "crust_actors"})
          if (const auto* c = rep.find(x, loss)) {
            any = true;
            all = all && c->ok && c->goodput_mbit_s >= g;
          }
        if (g > 0 && any)
          v += all ? " met" : " NOT";
        r += std::string(9 - std::min<size_t>(9, v.size()), ' ') + v;
      }
      out << r << "\n";
    }
  }
  out << "\n";
  header("measured loss, %");
  for (const auto& id : rep.transports)
    row(id, [](const netns_cell& c) {
      return fixed(c.measured_loss_percent, 2);
    });
  out << "\n";
  header("retransmitted/loss");
  for (const auto& id : rep.transports)
    row(id, [](const netns_cell& c) {
      return c.retransmission_per_loss < 0
               ? std::string{"n/a"}
               : fixed(c.retransmission_per_loss, 2);
    });
  out << "\n";
  header("by timeout, share");
  for (const auto& id : rep.transports)
    row(id, [](const netns_cell& c) {
      return c.timeout_share < 0 ? std::string{"n/a"}
                                 : fixed(c.timeout_share, 3);
    });
  out << "\n  retransmitted/loss: (bytes sent again / bytes sent once) / "
         "measured loss rate;\n"
         "  1 = every lost byte resent once. by timeout: crust PTOs per "
         "lost packet (capped at 1),\n"
         "  TCP share of retransmitted segments not sent by fast "
         "retransmit (RTO, loss probe),\n"
         "  ENet 1 (it resends on timeout only), UDT and SRT n/a (no "
         "counter).\n";
  bool failures = false;
  for (const auto& c : rep.cells)
    if (!c.ok) {
      if (!failures)
        out << "\n  failures:\n";
      failures = true;
      const auto* s = spec_of(c.transport);
      out << "    " << (s ? s->label : c.transport) << " at " << c.loss_percent
          << " %: " << c.error << "\n";
    }
  if (rep.signal != 0)
    out << "\n  interrupted by signal " << rep.signal << "\n";
  std::snprintf(line, sizeof(line), "\n  namespace section: %.0f s\n",
                rep.wall_seconds);
  out << line;
}

std::string netns_json(const netns_report& rep) {
  std::string j = "\"netns\":{";
  j += "\"skipped\":"
       + (rep.skipped.empty() ? std::string{"null"} : json_string(rep.skipped));
  j += ",\"rate_mbit_s\":100";
  j += ",\"warmup_s\":" + fixed(rep.warmup, 3);
  j += ",\"seconds\":" + fixed(rep.seconds, 3);
  j += ",\"rounds\":" + std::to_string(rep.rounds);
  j += ",\"rudp_congestion\":" + json_string(rep.crust_congestion);
  j += ",\"wall_seconds\":" + fixed(rep.wall_seconds, 1);
  j += ",\"losses_percent\":[";
  for (size_t i = 0; i < rep.losses.size(); ++i)
    j += (i ? "," : "") + std::to_string(rep.losses[i]);
  j += "],\"unavailable\":{";
  bool first = true;
  for (const auto& [id, why] : rep.unavailable) {
    j += (first ? "" : ",") + json_string(id) + ":" + json_string(why);
    first = false;
  }
  j += "},\"cells\":[";
  first = true;
  for (const auto& c : rep.cells) {
    j += first ? "{" : ",{";
    first = false;
    j += "\"transport\":" + json_string(c.transport);
    j += ",\"loss_percent\":" + std::to_string(c.loss_percent);
    j += std::string{",\"ok\":"} + (c.ok ? "true" : "false");
    j += ",\"goodput_mbit_s\":" + fixed(c.goodput_mbit_s, 2);
    j += ",\"goodput_samples_mbit_s\":[";
    for (size_t i = 0; i < c.goodput_samples.size(); ++i)
      j += (i ? "," : "") + fixed(c.goodput_samples[i], 2);
    j += "]";
    j += std::string{",\"verified\":"} + (c.verified ? "true" : "false");
    j += ",\"measured_loss_percent\":" + fixed(c.measured_loss_percent, 3);
    j += ",\"unique_bytes\":" + json_number(num(c.sender, "unique_bytes"), 0);
    j += ",\"retransmitted_bytes\":"
         + json_number(num(c.sender, "retransmitted_bytes"), 0);
    j += ",\"retransmission_ratio\":" + json_number(c.retransmission_ratio, 5);
    j += ",\"retransmission_per_loss\":"
         + json_number(c.retransmission_per_loss, 3);
    j += ",\"timeout_share\":" + json_number(c.timeout_share, 4);
    if (c.transport == "crust") {
      for (const char* key : {"packets_lost", "packets_lost_by_time",
                              "probe_timeouts", "packets_sent"})
        j += ",\"" + std::string{key}
             + "\":" + json_number(num(c.sender, key), 0);
    }
    if (c.transport == "crust" || c.transport == "crust_actors") {
      auto goal = netns_crust_goal(c.loss_percent);
      if (goal > 0) {
        j += ",\"goal_mbit_s\":" + fixed(goal, 0);
        j += std::string{",\"goal_met\":"}
             + (c.ok && c.goodput_mbit_s >= goal ? "true" : "false");
      }
    }
    if (c.transport == "tcp_cubic" || c.transport == "tcp_bbr")
      for (const char* key : {"rto_count", "loss_probes", "fast_retransmits"})
        j += ",\"" + std::string{key}
             + "\":" + json_number(num(c.sender, key), 0);
    // The roles' own `result` fields, for diagnosis.
    for (const auto& [name, fields] :
         {std::pair{"sender", &c.sender}, std::pair{"receiver", &c.receiver}}) {
      j += ",\"" + std::string{name} + "\":{";
      bool first_field = true;
      for (const auto& [key, value] : *fields) {
        auto x = num(*fields, key.c_str(), -1);
        j += (first_field ? "" : ",") + json_string(key) + ":"
             + (x >= 0 ? value : json_string(value));
        first_field = false;
      }
      j += "}";
    }
    j += ",\"error\":"
         + (c.error.empty() ? std::string{"null"} : json_string(c.error));
    j += "}";
  }
  j += "]}";
  // Flat keys, one per goodput cell: netns_<transport>_loss<N>_goodput_mbit_s.
  for (const auto& c : rep.cells)
    if (c.ok)
      j += ",\"netns_" + c.transport + "_loss" + std::to_string(c.loss_percent)
           + "_goodput_mbit_s\":" + fixed(c.goodput_mbit_s, 2);
  return j;
}

} // namespace crust::bench
