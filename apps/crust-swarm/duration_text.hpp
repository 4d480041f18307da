#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace crust_swarm {

/// Parses a duration as crust-node writes them: a whole number followed by
/// `ms`, `s`, `min` or `h` (`500ms`, `60s`, `2min`). Nothing on bad input.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// `1234 ms` as `1.2s`, for people.
std::string seconds_text(std::chrono::milliseconds value);

} // namespace crust_swarm
