#include "swarm_report.hpp"

#include "duration_text.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace crust_swarm {

namespace {

nlohmann::json optional_ms(const std::optional<std::chrono::milliseconds>& ms) {
  if (!ms)
    return nullptr;
  return ms->count();
}

nlohmann::json node_json(const node_status& row) {
  nlohmann::json found = nlohmann::json::object();
  for (const auto& [kind, count] : row.found)
    found[kind] = count;
  return {
    {"index", row.index},
    {"id", row.peer_id},
    {"port", row.port},
    {"peers", row.peers},
    {"found_by", found},
    {"sent", row.sent},
    {"received", row.received},
    {"expected_received", row.expected_received},
    {"send_errors", row.send_errors},
    {"lost_peers", row.lost_peers},
    {"exit_status", row.exit_status},
    {"stopped_by", row.stopped_by},
  };
}

} // namespace

nlohmann::json json_report(const swarm_status& status) {
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& row : status.node_rows)
    nodes.push_back(node_json(row));
  return {
    {"nodes_launched", status.nodes},
    {"mode", status.mode},
    {"outcome", to_string(status.outcome)},
    {"failure", status.failure},
    {"budget_ms", status.budget.count()},
    {"elapsed_ms", status.elapsed.count()},
    {"fully_connected", status.fully_connected},
    {"time_to_full_connectivity_ms",
     optional_ms(status.time_to_full_connectivity)},
    {"time_to_all_delivered_ms", optional_ms(status.time_to_all_delivered)},
    {"links", status.links},
    {"links_expected", status.links_expected},
    {"messages_expected", status.messages_expected},
    {"messages_sent", status.messages_sent},
    {"messages_delivered", status.messages_delivered},
    {"nodes", nodes},
  };
}

std::string write_json_report(const std::string& path,
                              const nlohmann::json& report) {
  auto temp = path + ".tmp";
  {
    std::ofstream out{temp, std::ios::trunc};
    if (!out)
      return "cannot write " + temp + ": " + std::strerror(errno);
    out << report.dump(2) << "\n";
    out.flush();
    if (!out)
      return "cannot write " + temp + ": " + std::strerror(errno);
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    auto err = std::string{"cannot rename "} + temp + " to " + path + ": "
               + std::strerror(errno);
    std::remove(temp.c_str());
    return err;
  }
  return {};
}

std::string summary_text(const swarm_status& status) {
  std::string out = "crust-swarm: " + std::to_string(status.nodes) + " nodes, "
                    + status.mode + " mode: ";
  if (status.fully_connected && status.time_to_full_connectivity)
    out += "fully connected after "
           + seconds_text(*status.time_to_full_connectivity);
  else
    out += "not fully connected (" + std::to_string(status.links) + " of "
           + std::to_string(status.links_expected) + " links)";
  out += "; " + std::to_string(status.messages_delivered) + " of "
         + std::to_string(status.messages_expected) + " messages delivered";
  if (status.time_to_all_delivered)
    out += " after " + seconds_text(*status.time_to_all_delivered);
  out += "\n";
  if (status.outcome == swarm_outcome::passed)
    out += "passed in " + seconds_text(status.elapsed) + " (budget "
           + seconds_text(status.budget) + ")\n";
  else
    out += std::string{"FAILED ("} + to_string(status.outcome)
           + "): " + status.failure + "\n";
  return out;
}

} // namespace crust_swarm
