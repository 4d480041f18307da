#pragma once

#include "swarm_status.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace crust_swarm {

/// The JSON report (`--json FILE`); docs/crust-swarm.md lists its keys.
nlohmann::json json_report(const swarm_status& status);

/// Writes `report` to `path` through a temporary file and a rename, so a
/// reader never sees half a report. An error text, or empty.
std::string write_json_report(const std::string& path,
                              const nlohmann::json& report);

/// The summary printed at the end, a few lines for people.
std::string summary_text(const swarm_status& status);

} // namespace crust_swarm
