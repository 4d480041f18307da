#include "crust/messages/config.hpp"

#include "crust/messages/log.hpp"
#include "crust/messages/type_ids.hpp"

#include <caf/config_option_adder.hpp>
#include <caf/config_option_set.hpp>
#include <caf/config_value.hpp>
#include <caf/settings.hpp>

#include <string_view>

namespace crust {

namespace {

constexpr std::string_view opt_log_level = "crust.log-level";
constexpr std::string_view opt_network_name = "crust.network-name";
constexpr std::string_view opt_key_file = "crust.key-file";
constexpr std::string_view opt_tcp_port = "crust.tcp-port";
constexpr std::string_view opt_max_message_size = "crust.max-message-size";

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
  if (x.max_message_size == 0
      || x.max_message_size > node_config::max_message_size_limit)
    return bad_option(opt_max_message_size,
                      "must be between 1 and "
                        + std::to_string(node_config::max_message_size_limit)
                        + ", got " + std::to_string(x.max_message_size));
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
    .add<std::string>("key-file",
                      "private key file, created with mode 0600 if missing "
                      "(default: $XDG_DATA_HOME/crust/node.key or "
                      "~/.local/share/crust/node.key)")
    .add<int64_t>("tcp-port", "TCP port to listen on, 0 = random (default)")
    .add<int64_t>("max-message-size",
                  "largest message in bytes, 1 to 67108864 (default: "
                  "2097152)");
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
  if (auto st = read_integer(content, opt_tcp_port, 0, 65535, result.tcp_port);
      !st)
    return st.error();
  if (auto st
      = read_integer(content, opt_max_message_size, 1,
                     static_cast<int64_t>(node_config::max_message_size_limit),
                     result.max_message_size);
      !st)
    return st.error();
  if (auto st = validate(result); !st)
    return st.error();
  return result;
}

system_config::system_config() {
  crust::add_message_types(*this);
  crust::add_node_options(*this);
}

} // namespace crust
