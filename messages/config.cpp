#include "crust/messages/config.hpp"

#include "crust/messages/hex.hpp"
#include "crust/messages/log.hpp"
#include "crust/messages/type_ids.hpp"
#include "crust/transport/codec/endpoint.hpp"

#include <caf/config_option_adder.hpp>
#include <caf/config_option_set.hpp>
#include <caf/config_value.hpp>
#include <caf/settings.hpp>

#include <algorithm>
#include <limits>
#include <string_view>
#include <utility>

namespace crust {

namespace {

constexpr std::string_view opt_log_level = "crust.log-level";
constexpr std::string_view opt_network_name = "crust.network-name";
constexpr std::string_view opt_cipher = "crust.cipher";
constexpr std::string_view opt_key_file = "crust.key-file";
constexpr std::string_view opt_tcp_port = "crust.tcp-port";
constexpr std::string_view opt_udp_port = "crust.udp-port";
constexpr std::string_view opt_no_rudp = "crust.no-rudp";
constexpr std::string_view opt_rudp_head_start = "crust.rudp-head-start";
constexpr std::string_view opt_max_message_size = "crust.max-message-size";
constexpr std::string_view opt_handshake_timeout = "crust.handshake-timeout";
constexpr std::string_view opt_heartbeat_interval = "crust.heartbeat-interval";
constexpr std::string_view opt_inactivity_timeout = "crust.inactivity-timeout";
constexpr std::string_view opt_max_queued_bytes = "crust.max-queued-bytes";
constexpr std::string_view opt_queue_expiry = "crust.queue-expiry";
constexpr std::string_view opt_max_pending = "crust.max-pending-connections";
constexpr std::string_view opt_max_messages_rate
  = "crust.max-messages-per-second";
constexpr std::string_view opt_max_bytes_rate = "crust.max-bytes-per-second";
constexpr std::string_view opt_ban_after = "crust.ban-after-misbehaviours";
constexpr std::string_view opt_ban_duration = "crust.ban-duration";
constexpr std::string_view opt_whitelist = "crust.whitelist";
constexpr std::string_view opt_client_whitelist = "crust.client-whitelist";
constexpr std::string_view opt_refuse_bootstrap = "crust.refuse-bootstrap";
constexpr std::string_view opt_client = "crust.client";
constexpr std::string_view opt_reachability_timeout
  = "crust.reachability-timeout";

failure bad_option(std::string_view option, std::string what) {
  std::string detail{option};
  detail += ": ";
  detail += what;
  return failure{errc::invalid_config, std::move(detail)};
}

/// Reaches the protected option set of any `actor_system_config`: a member
/// pointer formed through a derived class may be applied to the base.
struct option_access : caf::actor_system_config {
  static caf::config_option_set& get(caf::actor_system_config& cfg) {
    return cfg.*(&option_access::custom_options_);
  }
};

/// Reads a string option; leaves `out` alone if absent.
status read_string(const caf::settings& content, std::string_view name,
                   std::string& out) {
  auto value = caf::get_if(&content, name);
  if (value == nullptr)
    return {};
  auto str = caf::get_if<std::string>(value);
  if (!str)
    return bad_option(name, "must be a string, got " + caf::to_string(*value));
  out = *str;
  return {};
}

/// Reads an integer option within [min, max]; leaves `out` alone if absent.
template<class T>
status read_integer(const caf::settings& content, std::string_view name,
                    int64_t min, int64_t max, T& out) {
  auto value = caf::get_if(&content, name);
  if (value == nullptr)
    return {};
  auto num = caf::get_if<int64_t>(value);
  if (!num)
    return bad_option(name,
                      "must be an integer, got " + caf::to_string(*value));
  if (*num < min || *num > max)
    return bad_option(name, "must be between " + std::to_string(min) + " and "
                              + std::to_string(max) + ", got "
                              + std::to_string(*num));
  out = static_cast<T>(*num);
  return {};
}

/// Reads a duration option ("10s", "500ms"); leaves `out` alone if absent.
status read_timespan(const caf::settings& content, std::string_view name,
                     caf::timespan& out) {
  auto value = caf::get_if(&content, name);
  if (value == nullptr)
    return {};
  auto span = caf::get_if<caf::timespan>(value);
  if (!span)
    return bad_option(name, "must be a duration such as 10s or 500ms, got "
                              + caf::to_string(*value));
  out = *span;
  return {};
}

/// Reads a boolean option; leaves `out` alone if absent.
status read_bool(const caf::settings& content, std::string_view name,
                 bool& out) {
  auto value = caf::get_if(&content, name);
  if (value == nullptr)
    return {};
  auto flag = caf::get_if<bool>(value);
  if (!flag)
    return bad_option(name,
                      "must be true or false, got " + caf::to_string(*value));
  out = *flag;
  return {};
}

/// Reads a list of strings; leaves `out` alone if absent.
status read_string_list(const caf::settings& content, std::string_view name,
                        std::vector<std::string>& out) {
  auto value = caf::get_if(&content, name);
  if (value == nullptr)
    return {};
  auto list = caf::get_if<std::vector<std::string>>(value);
  if (!list)
    return bad_option(name, "must be a list of strings, got "
                              + caf::to_string(*value));
  out = std::move(*list);
  return {};
}

bool is_ip_address(const std::string& text) {
  return static_cast<bool>(ip_address::parse(text));
}

/// `text` with every character readable in an error message.
std::string printable_text(const std::string& text) {
  std::string out;
  for (auto c : text)
    out += hex::printable(c);
  return out;
}

std::string duration_text(caf::timespan d) {
  return std::to_string(
           std::chrono::duration_cast<std::chrono::milliseconds>(d).count())
         + "ms";
}

} // namespace

status validate(const node_config& x) {
  if (!log::is_level(x.log_level))
    return bad_option(opt_log_level, "unknown log level '" + x.log_level
                                       + "' (expected one of "
                                       + log::level_list() + ")");
  if (x.network_name.empty())
    return bad_option(opt_network_name, "must not be empty");
  if (x.network_name.size() > node_config::max_network_name_size)
    return bad_option(
      opt_network_name,
      "must be at most " + std::to_string(node_config::max_network_name_size)
        + " bytes, got " + std::to_string(x.network_name.size()));
  for (auto c : x.network_name)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return bad_option(opt_network_name,
                        "must not contain control characters");
  if (x.cipher != "chacha-poly" && x.cipher != "aes-gcm")
    return bad_option(opt_cipher, "unknown cipher '" + printable_text(x.cipher)
                                    + "' (expected chacha-poly or aes-gcm)");
  if (x.max_message_size == 0
      || x.max_message_size > node_config::max_message_size_limit)
    return bad_option(opt_max_message_size,
                      "must be between 1 and "
                        + std::to_string(node_config::max_message_size_limit)
                        + ", got " + std::to_string(x.max_message_size));
  auto positive = [](std::string_view name, caf::timespan d) -> status {
    if (d <= caf::timespan{0})
      return bad_option(name, "must be positive, got " + duration_text(d));
    return {};
  };
  if (auto st = positive(opt_handshake_timeout, x.handshake_timeout); !st)
    return st;
  if (auto st = positive(opt_heartbeat_interval, x.heartbeat_interval); !st)
    return st;
  if (auto st = positive(opt_queue_expiry, x.queue_expiry); !st)
    return st;
  if (auto st = positive(opt_ban_duration, x.ban_duration); !st)
    return st;
  if (auto st = positive(opt_reachability_timeout, x.reachability_timeout); !st)
    return st;
  if (x.rudp_head_start < caf::timespan{0}
      || x.rudp_head_start >= x.handshake_timeout)
    return bad_option(opt_rudp_head_start,
                      "must be at least 0 and less than "
                      "crust.handshake-timeout ("
                        + duration_text(x.handshake_timeout) + "), got "
                        + duration_text(x.rudp_head_start));
  if (x.inactivity_timeout <= x.heartbeat_interval)
    return bad_option(opt_inactivity_timeout,
                      "must exceed crust.heartbeat-interval ("
                        + duration_text(x.heartbeat_interval) + "), got "
                        + duration_text(x.inactivity_timeout));
  if (x.max_queued_bytes < x.max_message_size)
    return bad_option(opt_max_queued_bytes,
                      "must be at least crust.max-message-size ("
                        + std::to_string(x.max_message_size) + "), got "
                        + std::to_string(x.max_queued_bytes));
  if (x.max_pending_connections == 0)
    return bad_option(opt_max_pending, "must be positive");
  for (const auto* list : {&x.whitelist, &x.client_whitelist})
    for (const auto& entry : *list)
      if (!is_ip_address(entry))
        return bad_option(
          list == &x.whitelist ? opt_whitelist : opt_client_whitelist,
          "'" + printable_text(entry) + "' is not an IPv4 or IPv6 address");
  return {};
}

void add_node_options(caf::config_option_set& opts) {
  caf::config_option_adder{opts, "crust"}
    .add<std::string>("log-level",
                      "trace, debug, info (default), warn, error, critical "
                      "or off")
    .add<std::string>("network-name",
                      "name of the network; only nodes of the same network "
                      "talk to each other (default: crust-default)")
    .add<std::string>("cipher",
                      "AEAD of every secure channel, the same on every node "
                      "of a network: chacha-poly (default) or aes-gcm")
    .add<std::string>("key-file",
                      "private key file, created with mode 0600 if missing "
                      "(default: $XDG_DATA_HOME/crust/node.key or "
                      "~/.local/share/crust/node.key)")
    .add<int64_t>("tcp-port", "TCP port to listen on, 0 = random (default)")
    .add<int64_t>("udp-port",
                  "UDP port of rUDP, 0 = the TCP port's number if free, "
                  "else random (default)")
    .add<bool>("no-rudp", "never dial or accept rUDP, TCP only (default: off)")
    .add<caf::timespan>("rudp-head-start",
                        "how long a connect gives TCP before it also dials "
                        "rUDP, 0 = both at once (default: 250ms)")
    .add<int64_t>("max-message-size",
                  "largest message in bytes, 1 to 67108864 (default: "
                  "2097152)")
    .add<caf::timespan>("handshake-timeout",
                        "a connection must be authenticated within this "
                        "time (default: 10s)")
    .add<caf::timespan>("heartbeat-interval",
                        "keepalive after this long without sending "
                        "(default: 20s)")
    .add<caf::timespan>("inactivity-timeout",
                        "peer lost after this long without receiving "
                        "(default: 120s)")
    .add<int64_t>("max-queued-bytes",
                  "payload bytes one connection may queue; beyond it send "
                  "fails with queue_full (default: 33554432)")
    .add<caf::timespan>("queue-expiry",
                        "queues of priority 2 and up are dropped when their "
                        "oldest message waited this long (default: 60s)")
    .add<int64_t>("max-pending-connections",
                  "most inbound connections in the handshake at once "
                  "(default: 1024)")
    .add<int64_t>("max-messages-per-second",
                  "messages per second a peer may send, 0 = no limit "
                  "(default: 0)")
    .add<int64_t>("max-bytes-per-second",
                  "bytes per second a peer may send, 0 = no limit "
                  "(default: 0)")
    .add<int64_t>("ban-after-misbehaviours",
                  "ban a peer after this many misbehaviours, 0 = never "
                  "(default: 0)")
    .add<caf::timespan>("ban-duration",
                        "how long an automatic ban lasts (default: 10min)")
    .add<std::vector<std::string>>("whitelist",
                                   "IP addresses of nodes we accept and "
                                   "dial; empty = all (default)")
    .add<std::vector<std::string>>("client-whitelist",
                                   "IP addresses of clients that may "
                                   "bootstrap off us; empty = all "
                                   "(default)")
    .add<bool>("refuse-bootstrap",
               "deny every bootstrap request with not_accepting (default: "
               "off)")
    .add<bool>("client",
               "bootstrap as a client that only dials out (default: false)")
    .add<caf::timespan>("reachability-timeout",
                        "how long a bootstrapping node has to answer our "
                        "connect back (default: 3s)");
}

void add_node_options(caf::actor_system_config& cfg) {
  add_node_options(option_access::get(cfg));
}

expected<node_config> read_node_config(const caf::actor_system_config& cfg) {
  const auto& content = caf::content(cfg);
  node_config result;
  if (auto st = read_string(content, opt_log_level, result.log_level); !st)
    return st.error();
  if (auto st = read_string(content, opt_network_name, result.network_name);
      !st)
    return st.error();
  if (auto st = read_string(content, opt_key_file, result.key_file); !st)
    return st.error();
  if (auto st = read_string(content, opt_cipher, result.cipher); !st)
    return st.error();
  if (auto st = read_integer(content, opt_tcp_port, 0, 65535, result.tcp_port);
      !st)
    return st.error();
  if (auto st = read_integer(content, opt_udp_port, 0, 65535, result.udp_port);
      !st)
    return st.error();
  if (auto st
      = read_integer(content, opt_max_message_size, 1,
                     static_cast<int64_t>(node_config::max_message_size_limit),
                     result.max_message_size);
      !st)
    return st.error();
  constexpr auto int_max = std::numeric_limits<int64_t>::max();
  for (auto [name, out] :
       {std::pair{opt_handshake_timeout, &result.handshake_timeout},
        std::pair{opt_heartbeat_interval, &result.heartbeat_interval},
        std::pair{opt_inactivity_timeout, &result.inactivity_timeout},
        std::pair{opt_queue_expiry, &result.queue_expiry},
        std::pair{opt_ban_duration, &result.ban_duration},
        std::pair{opt_reachability_timeout, &result.reachability_timeout},
        std::pair{opt_rudp_head_start, &result.rudp_head_start}})
    if (auto st = read_timespan(content, name, *out); !st)
      return st.error();
  if (auto st = read_integer(content, opt_max_queued_bytes, 1, int_max,
                             result.max_queued_bytes);
      !st)
    return st.error();
  // Unless set, the queue limit grows with the message limit: it must hold
  // at least one message.
  if (caf::get_if(&content, opt_max_queued_bytes) == nullptr)
    result.max_queued_bytes = std::max(result.max_queued_bytes,
                                       result.max_message_size);
  if (auto st = read_integer(content, opt_max_pending, 1, 1'000'000,
                             result.max_pending_connections);
      !st)
    return st.error();
  if (auto st = read_integer(content, opt_max_messages_rate, 0, int_max,
                             result.max_messages_per_second);
      !st)
    return st.error();
  if (auto st = read_integer(content, opt_max_bytes_rate, 0, int_max,
                             result.max_bytes_per_second);
      !st)
    return st.error();
  if (auto st = read_integer(content, opt_ban_after, 0, 1'000'000,
                             result.ban_after_misbehaviours);
      !st)
    return st.error();
  if (auto st = read_string_list(content, opt_whitelist, result.whitelist); !st)
    return st.error();
  if (auto st = read_string_list(content, opt_client_whitelist,
                                 result.client_whitelist);
      !st)
    return st.error();
  // CAF 0.17 takes boolean options as flags only (`--crust.client`), so
  // every flag defaults to false.
  bool refuse = false;
  if (auto st = read_bool(content, opt_refuse_bootstrap, refuse); !st)
    return st.error();
  result.accept_bootstrap = !refuse;
  if (auto st = read_bool(content, opt_client, result.client); !st)
    return st.error();
  bool no_rudp = false;
  if (auto st = read_bool(content, opt_no_rudp, no_rudp); !st)
    return st.error();
  result.rudp = !no_rudp;
  if (auto st = validate(result); !st)
    return st.error();
  return result;
}

system_config::system_config() {
  crust::add_message_types(*this);
  crust::add_node_options(*this);
  // CAF's work stealing without its middle phase: an idle worker spins
  // briefly (100 polls), then waits on its condition variable, instead of
  // first polling 500 times with 50 us sleeps in between. On a small
  // machine those sleeps and wake-ups take the cores the io thread and the
  // other end need (docs/configuration.md, "Scheduler", has the figures).
  // The command line or a config file overrides it.
  set("work-stealing.moderate-poll-attempts", size_t{0});
}

} // namespace crust
