#include "duration_text.hpp"

#include <cstdint>
#include <cstdio>

namespace crust_swarm {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
    ++digits;
  // Eight digits are far beyond any budget and keep the product in range.
  if (digits == 0 || digits > 8)
    return std::nullopt;
  int64_t number = 0;
  for (size_t i = 0; i < digits; ++i)
    number = number * 10 + (text[i] - '0');
  auto unit = text.substr(digits);
  int64_t scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "min")
    scale = 60 * 1000;
  else if (unit == "h")
    scale = 60 * 60 * 1000;
  else
    return std::nullopt;
  return std::chrono::milliseconds{number * scale};
}

std::string seconds_text(std::chrono::milliseconds value) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1fs",
                static_cast<double>(value.count()) / 1000.0);
  return buf;
}

} // namespace crust_swarm
