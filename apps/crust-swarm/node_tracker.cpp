#include "node_tracker.hpp"

namespace crust_swarm {

const std::string message_prefix = "crust-swarm ";

const std::vector<std::string>& found_by::all() {
  static const std::vector<std::string> kinds{beacon, contact, cache,
                                              gossip, inbound, manual};
  return kinds;
}

namespace {

std::string string_field(const nlohmann::json& event, const char* name) {
  auto it = event.find(name);
  if (it == event.end() || !it->is_string())
    return {};
  return it->get<std::string>();
}

/// crust-node says "lan" where the report says "beacon".
std::string normalized_found(const std::string& found) {
  if (found == "lan")
    return found_by::beacon;
  return found;
}

std::string first_word(const std::string& text) {
  return text.substr(0, text.find(' '));
}

} // namespace

std::string swarm_message_text(int from, int to, int k) {
  return message_prefix + std::to_string(from) + "->" + std::to_string(to)
         + " #" + std::to_string(k);
}

node_tracker::node_tracker() {
  // crust-node listens at startup and answers that like a command.
  pending_.push_back({command_kind::listen});
}

void node_tracker::command_sent(pending_command cmd) {
  pending_.push_back(cmd);
}

bool node_tracker::has_pending(command_kind kind) const {
  for (const auto& cmd : pending_)
    if (cmd.kind == kind)
      return true;
  return false;
}

std::map<std::string, int> node_tracker::found_counts() const {
  std::map<std::string, int> counts;
  for (const auto& kind : found_by::all())
    counts[kind] = 0;
  for (const auto& [peer, found] : connected_)
    ++counts[found];
  return counts;
}

std::optional<command_result> node_tracker::on_line(const std::string& line) {
  auto event = nlohmann::json::parse(line, nullptr, false);
  if (event.is_discarded() || !event.is_object() || !event.contains("event")) {
    ++bad_lines_;
    return std::nullopt;
  }
  return on_event(event);
}

std::optional<command_result>
node_tracker::on_event(const nlohmann::json& event) {
  auto kind = string_field(event, "event");
  if (kind == "ok")
    return on_result(event, true);
  if (kind == "error")
    return on_result(event, false);
  if (kind == "identity") {
    peer_id_ = string_field(event, "peer");
  } else if (kind == "listener_started") {
    auto port = event.find("port");
    if (port_ == 0 && port != event.end() && port->is_number_integer())
      port_ = port->get<int>();
  } else if (kind == "connect_success") {
    on_connected(event);
  } else if (kind == "lost_peer") {
    source_unknown_.erase(string_field(event, "peer"));
    if (connected_.erase(string_field(event, "peer")) > 0)
      ++lost_peers_;
  } else if (kind == "bootstrap_connect") {
    bootstrapped_ = true;
    auto source = normalized_found(string_field(event, "source"));
    connected_[string_field(event, "peer")] = source.empty() ? found_by::contact
                                                             : source;
  } else if (kind == "learned") {
    // Early crust-node builds answered `learned` with this event instead
    // of an `ok`; today's answer is an `ok` (handled in on_result).
    if (!pending_.empty() && pending_.front().kind == command_kind::learned)
      return on_result(event, true);
    if (auto peers = event.find("peers"); peers != event.end())
      on_learned(*peers);
  } else if (kind == "new_message") {
    if (string_field(event, "text").rfind(message_prefix, 0) == 0)
      ++messages_received_;
  }
  return std::nullopt;
}

void node_tracker::on_connected(const nlohmann::json& event) {
  auto peer = string_field(event, "peer");
  if (peer.empty())
    return;
  learned_.erase(peer);
  auto found = normalized_found(string_field(event, "found"));
  if (!pending_.empty() && pending_.front().kind == command_kind::connect
      && !pending_.front().found.empty() && found != found_by::inbound) {
    connected_[peer] = pending_.front().found;
    return;
  }
  if (found == "bootstrap") {
    // Which kind of candidate (contact, beacon, cache) the bootstrap result
    // tells; a contact until then.
    connected_[peer] = found_by::contact;
    source_unknown_.insert(peer);
    return;
  }
  if (!found.empty()) {
    connected_[peer] = found;
    return;
  }
  // A bootstrap_connect may have named the origin already.
  if (connected_.count(peer) == 0)
    connected_[peer] = derive_found(event);
}

std::string node_tracker::derive_found(const nlohmann::json& event) const {
  auto initiated = event.find("initiated");
  if (initiated != event.end() && initiated->is_boolean()
      && !initiated->get<bool>())
    return found_by::inbound;
  if (!pending_.empty()) {
    switch (pending_.front().kind) {
      case command_kind::bootstrap: return found_by::contact;
      case command_kind::connect_learned: return found_by::gossip;
      default: break;
    }
  }
  return found_by::manual;
}

void node_tracker::resolve_bootstrap_source(const std::string& peer,
                                            const std::string& source) {
  auto it = connected_.find(peer);
  if (it == connected_.end() || source.empty())
    return;
  if (source_unknown_.erase(peer) > 0 || it->second == found_by::contact)
    it->second = normalized_found(source);
}

void node_tracker::on_bootstrap_result(const nlohmann::json& event) {
  resolve_bootstrap_source(string_field(event, "peer"),
                           string_field(event, "source"));
  if (auto candidates = event.find("candidates");
      candidates != event.end() && candidates->is_array())
    for (const auto& candidate : *candidates)
      if (candidate.is_object())
        resolve_bootstrap_source(string_field(candidate, "peer"),
                                 string_field(candidate, "source"));
}

void node_tracker::on_learned(const nlohmann::json& peers) {
  if (!peers.is_array())
    return;
  learned_.clear();
  for (const auto& entry : peers) {
    std::string peer;
    if (entry.is_string())
      peer = entry.get<std::string>();
    else if (entry.is_object())
      peer = string_field(entry, "peer");
    if (!peer.empty() && connected_.count(peer) == 0)
      learned_.insert(peer);
  }
}

std::optional<command_result>
node_tracker::on_result(const nlohmann::json& event, bool ok) {
  if (!ok)
    if (auto err = event.find("error"); err != event.end() && err->is_object())
      last_error_ = string_field(*err, "message");
  if (pending_.empty())
    return std::nullopt;
  command_result result{pending_.front(), ok, event};
  pending_.pop_front();
  switch (result.command.kind) {
    case command_kind::send: ++(ok ? messages_sent_ : send_errors_); break;
    case command_kind::help:
      answered_help_ = true;
      if (auto commands = event.find("commands");
          ok && commands != event.end() && commands->is_array())
        for (const auto& usage : *commands)
          if (usage.is_string())
            command_verbs_.push_back(first_word(usage.get<std::string>()));
      break;
    case command_kind::disconnect:
      if (ok) {
        connected_.erase(result.command.peer);
        source_unknown_.erase(result.command.peer);
      }
      break;
    case command_kind::bootstrap:
      if (ok) {
        bootstrapped_ = true;
        on_bootstrap_result(event);
      }
      break;
    case command_kind::learned:
      if (auto peers = event.find("peers"); ok && peers != event.end())
        on_learned(*peers);
      break;
    default: break;
  }
  return result;
}

} // namespace crust_swarm
