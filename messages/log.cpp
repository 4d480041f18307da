#include "crust/messages/log.hpp"

#include <memory>
#include <spdlog/common.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <string>

namespace crust::log {

namespace {

constexpr const char* logger_name = "crust";

std::shared_ptr<spdlog::logger> make_logger() {
  if (auto existing = spdlog::get(logger_name))
    return existing;
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto result = std::make_shared<spdlog::logger>(logger_name, std::move(sink));
  result->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ crust: %v");
  result->set_level(spdlog::level::info);
  spdlog::register_logger(result);
  return result;
}

} // namespace

bool is_level(std::string_view name) noexcept {
  for (auto x : level_names)
    if (x == name)
      return true;
  return false;
}

std::string level_list() {
  std::string out;
  for (auto x : level_names) {
    if (!out.empty())
      out += ", ";
    out += x;
  }
  return out;
}

spdlog::logger& logger() {
  static std::shared_ptr<spdlog::logger> instance = make_logger();
  return *instance;
}

status set_level(std::string_view name) {
  if (!is_level(name))
    return {errc::invalid_config, "unknown log level '" + std::string{name}
                                    + "' (expected one of " + level_list()
                                    + ")"};
  logger().set_level(spdlog::level::from_str(std::string{name}));
  return {};
}

} // namespace crust::log
