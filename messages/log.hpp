#pragma once

#include "crust/messages/expected.hpp"

#include <spdlog/logger.h>
#include <string>
#include <string_view>
#include <utility>

/// crust logs through one spdlog logger named "crust" that writes to stderr
/// (CAF's own logging is compiled out in Debian's build). Engines do not log.
namespace crust::log {

/// The level names `set_level` accepts, most verbose first.
constexpr std::string_view level_names[] = {"trace", "debug",    "info", "warn",
                                            "error", "critical", "off"};

/// The level a fresh logger starts with.
constexpr std::string_view default_level = "info";

/// True if `name` is one of `level_names` (exact, lower case).
bool is_level(std::string_view name) noexcept;

/// "trace, debug, info, warn, error, critical, off", for error messages.
std::string level_list();

/// The "crust" logger. Created on first use with a stderr sink unless the
/// application registered its own spdlog logger of that name before.
spdlog::logger& logger();

/// Sets the level of the "crust" logger. Fails with `errc::invalid_config`
/// naming the bad value and the accepted ones.
status set_level(std::string_view name);

template<class... Ts>
void trace(Ts&&... xs) {
  logger().trace(std::forward<Ts>(xs)...);
}

template<class... Ts>
void debug(Ts&&... xs) {
  logger().debug(std::forward<Ts>(xs)...);
}

template<class... Ts>
void info(Ts&&... xs) {
  logger().info(std::forward<Ts>(xs)...);
}

template<class... Ts>
void warn(Ts&&... xs) {
  logger().warn(std::forward<Ts>(xs)...);
}

template<class... Ts>
void error(Ts&&... xs) {
  logger().error(std::forward<Ts>(xs)...);
}

} // namespace crust::log
