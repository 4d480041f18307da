#include "event_format.hpp"

#include "crust/messages/hex.hpp"

#include "json_writer.hpp"

#include <chrono>
#include <utility>

namespace crust_node {

namespace {

/// Bytes of a binary message shown as hex: all of them in JSON up to this
/// many, a shorter glimpse for people.
constexpr size_t json_hex_limit = 1024;
constexpr size_t human_hex_limit = 32;

std::string short_id(const crust::peer_id& id) {
  return id.short_hex();
}

uint64_t millis(caf::timespan d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return ms < 0 ? 0 : static_cast<uint64_t>(ms);
}

/// "10min", "2h", "1.5s", "250ms": the largest unit that divides evenly,
/// else seconds with one decimal.
std::string duration_text(caf::timespan d) {
  auto ms = millis(d);
  constexpr std::pair<uint64_t, const char*> units[]
    = {{86'400'000, "d"}, {3'600'000, "h"}, {60'000, "min"}, {1000, "s"}};
  for (auto [size, name] : units)
    if (ms >= size && ms % size == 0)
      return std::to_string(ms / size) + name;
  if (ms < 1000)
    return std::to_string(ms) + "ms";
  return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100)
         + "s";
}

std::string hex_of(crust::const_byte_span bytes, size_t limit) {
  auto n = bytes.size() < limit ? bytes.size() : limit;
  return crust::hex::encode(bytes.data(), n);
}

json_object event_object(std::string_view name) {
  json_object obj;
  obj.add("event", name);
  return obj;
}

json_object ok_object(std::string_view verb) {
  json_object obj;
  obj.add("event", "ok").add("command", verb);
  return obj;
}

} // namespace

event_format::event_format(output_mode mode, error_renderer render)
  : mode_(mode), render_(std::move(render)) {
  // nop
}

std::string event_format::error_json(const error_text& err) const {
  return json_object{}
    .add("code", err.code)
    .add("category", err.category)
    .add("message", err.message)
    .str();
}

std::string event_format::error_json(const caf::error& err) const {
  return error_json(describe(err, render_));
}

std::string event_format::error_human(const caf::error& err) const {
  auto text = describe(err, render_);
  return text.message + " [" + text.code + "]";
}

// -- crust-node's own events --------------------------------------------------

std::string event_format::identity(const crust::peer_id& id,
                                   const std::string& key_file) const {
  if (mode_ == output_mode::json)
    return event_object("identity")
      .add("peer", id.to_hex())
      .add("key_file", key_file)
      .str();
  return "peer-id " + id.to_hex();
}

std::string event_format::message(const crust::new_message& x) const {
  crust::const_byte_span bytes{x.payload};
  bool text = is_printable_text(bytes);
  std::string_view as_text{reinterpret_cast<const char*>(x.payload.data()),
                           x.payload.size()};
  if (mode_ == output_mode::json) {
    auto obj = event_object("new_message");
    obj.add("peer", x.peer.to_hex())
      .add_number("priority", x.priority)
      .add_number("size", x.payload.size())
      .add("sha256", sha256_hex(bytes))
      .add("kind", text ? "text" : "binary");
    if (text) {
      obj.add("text", as_text);
    } else {
      obj.add("hex", hex_of(bytes, json_hex_limit));
      obj.add_bool("truncated", x.payload.size() > json_hex_limit);
    }
    return obj.str();
  }
  auto head = "message " + short_id(x.peer) + " prio "
              + std::to_string(x.priority) + ": ";
  if (text)
    return head + std::string{as_text};
  auto out = head + std::to_string(x.payload.size()) + " bytes (binary) sha256 "
             + sha256_hex(bytes) + " hex " + hex_of(bytes, human_hex_limit);
  if (x.payload.size() > human_hex_limit)
    out += "...";
  return out;
}

std::string event_format::file_received(const crust::peer_id& peer,
                                        uint8_t priority, const file_view& file,
                                        const std::string& saved_path,
                                        const std::string& save_error) const {
  auto sha = sha256_hex(file.content);
  if (mode_ == output_mode::json) {
    auto obj = event_object("file_received");
    obj.add("peer", peer.to_hex())
      .add_number("priority", priority)
      .add("name", file.name)
      .add_number("size", file.content.size())
      .add("sha256", sha)
      .add_bool("saved", !saved_path.empty());
    if (!saved_path.empty())
      obj.add("path", saved_path);
    if (!save_error.empty())
      obj.add("save_error", save_error);
    return obj.str();
  }
  std::string name = json_string(file.name); // quoted, control chars escaped
  auto out = "file " + short_id(peer) + " prio " + std::to_string(priority)
             + ": " + name + " " + std::to_string(file.content.size())
             + " bytes sha256 " + sha;
  if (!saved_path.empty())
    out += " saved to " + saved_path;
  else if (!save_error.empty())
    out += " not saved: " + save_error;
  return out;
}

std::string event_format::stopping(const std::string& reason) const {
  if (mode_ == output_mode::json)
    return event_object("stopping").add("reason", reason).str();
  return "stopping: " + reason;
}

// -- events of the SERVICE ----------------------------------------------------

std::string event_format::event(const crust::listener_started& x) const {
  if (mode_ == output_mode::json) {
    json_array endpoints;
    for (const auto& ep : x.endpoints)
      endpoints.add(ep);
    return event_object("listener_started")
      .add("transport", "tcp")
      .add_number("port", x.port)
      .add_raw("endpoints", endpoints.str())
      .str();
  }
  return "listening tcp " + std::to_string(x.port);
}

std::string event_format::port_mapped(const crust::port_mapping& x) const {
  auto external = x.external_address + ":" + std::to_string(x.external_port);
  if (mode_ == output_mode::json)
    return event_object("port_mapped")
      .add("transport", "tcp")
      .add("method", x.method)
      .add_number("port", x.internal_port)
      .add("external", external)
      .add_number("lease_s", x.lease_seconds)
      .str();
  return "mapped tcp " + std::to_string(x.internal_port) + " -> " + external
         + " (" + x.method + ")";
}

std::string event_format::port_mapping_failed(uint16_t port,
                                              const caf::error& err) const {
  if (mode_ == output_mode::json)
    return event_object("port_mapping_failed")
      .add("transport", "tcp")
      .add_number("port", port)
      .add_raw("error", error_json(err))
      .str();
  return "mapping-failed tcp " + std::to_string(port) + ": " + error_human(err);
}

std::string event_format::event(const crust::listener_failed& x) const {
  if (mode_ == output_mode::json)
    return event_object("listener_failed")
      .add("transport", "tcp")
      .add_number("port", x.port)
      .add_raw("error", error_json(x.reason))
      .str();
  return "listen-failed tcp " + std::to_string(x.port) + ": "
         + error_human(x.reason);
}

std::string event_format::event(const crust::connect_success& x,
                                std::string_view found) const {
  if (mode_ == output_mode::json) {
    auto obj = event_object("connect_success");
    obj.add("peer", x.peer.to_hex())
      .add("remote", x.remote)
      .add("transport", x.transport)
      .add_bool("initiated", x.initiated);
    if (!found.empty())
      obj.add("found", found);
    return obj.str();
  }
  auto out = "connected " + x.peer.to_hex() + " " + x.remote + " " + x.transport
             + (x.initiated ? " dialled" : " accepted");
  if (!found.empty())
    out += " (" + std::string{found} + ")";
  return out;
}

std::string event_format::event(const crust::connect_failure& x) const {
  if (mode_ == output_mode::json)
    return event_object("connect_failure")
      .add("peer", x.peer.to_hex())
      .add_raw("error", error_json(x.reason))
      .str();
  return "connect-failed " + x.peer.to_hex() + ": " + error_human(x.reason);
}

std::string event_format::event(const crust::lost_peer& x) const {
  if (mode_ == output_mode::json)
    return event_object("lost_peer")
      .add("peer", x.peer.to_hex())
      .add_raw("error", error_json(x.reason))
      .str();
  return "lost " + short_id(x.peer) + ": " + error_human(x.reason);
}

std::string event_format::event(const crust::peer_misbehaved& x) const {
  if (mode_ == output_mode::json)
    return event_object("peer_misbehaved")
      .add("peer", x.peer.to_hex())
      .add_raw("error", error_json(x.reason))
      .str();
  return "misbehaved " + short_id(x.peer) + ": " + error_human(x.reason);
}

std::string event_format::event(const crust::message_too_large& x) const {
  if (mode_ == output_mode::json)
    return event_object("message_too_large")
      .add("peer", x.peer.to_hex())
      .add_number("size", x.size)
      .str();
  return "too-large " + short_id(x.peer) + ": " + std::to_string(x.size)
         + " bytes not sent";
}

std::string event_format::event(const crust::messages_dropped& x) const {
  if (mode_ == output_mode::json)
    return event_object("messages_dropped")
      .add("peer", x.peer.to_hex())
      .add_number("messages", x.messages)
      .add_number("bytes", x.bytes)
      .add_number("from_priority", x.from_priority)
      .add("detail", x.detail)
      .str();
  return "dropped " + short_id(x.peer) + ": " + x.detail;
}

std::string
event_format::event(const crust::connection_info_prepared& x) const {
  if (mode_ == output_mode::json) {
    auto obj = event_object("connection_info_prepared");
    obj.add_number("token", x.token);
    if (x.reason)
      obj.add_raw("error", error_json(x.reason));
    else
      obj.add("info", x.info);
    return obj.str();
  }
  if (x.reason)
    return "connection-info " + std::to_string(x.token)
           + " failed: " + error_human(x.reason);
  return "connection-info " + std::to_string(x.token) + " " + x.info;
}

std::string event_format::event(const crust::bootstrap_connect& x) const {
  if (mode_ == output_mode::json)
    return event_object("bootstrap_connect")
      .add("peer", x.peer.to_hex())
      .add("remote", x.remote)
      .str();
  return "bootstrapped " + x.peer.to_hex() + " " + x.remote;
}

std::string event_format::event(const crust::bootstrap_failed& x) const {
  if (mode_ == output_mode::json)
    return event_object("bootstrap_failed")
      .add_raw("error", error_json(x.reason))
      .str();
  return "bootstrap-failed: " + error_human(x.reason);
}

std::string event_format::event(const crust::bootstrap_accept& x) const {
  if (mode_ == output_mode::json)
    return event_object("bootstrap_accept")
      .add("peer", x.peer.to_hex())
      .add_bool("client", x.client)
      .str();
  return "bootstrap-accept " + x.peer.to_hex()
         + (x.client ? " client" : " node");
}

// -- command results ----------------------------------------------------------

std::string event_format::command_failed(std::optional<command_kind> kind,
                                         const std::string& input,
                                         const error_text& err) const {
  std::string verb = kind ? std::string{to_string(*kind)} : std::string{};
  if (mode_ == output_mode::json)
    return event_object("error")
      .add("command", verb)
      .add("input", input)
      .add_raw("error", error_json(err))
      .str();
  if (err.category == "crust-node")
    return "error: " + err.message;
  return "error " + verb + ": " + err.message + " [" + err.code + "]";
}

std::string event_format::command_failed(std::optional<command_kind> kind,
                                         const std::string& input,
                                         const caf::error& err) const {
  return command_failed(kind, input, describe(err, render_));
}

std::string event_format::listening(uint16_t port) const {
  if (mode_ == output_mode::json)
    return ok_object("listen")
      .add("transport", "tcp")
      .add_number("port", port)
      .str();
  return "ok listen tcp " + std::to_string(port);
}

std::string event_format::stopped_listening(bool was_listening) const {
  if (mode_ == output_mode::json)
    return ok_object("stop-listen")
      .add_bool("was_listening", was_listening)
      .str();
  return was_listening ? "ok stop-listen"
                       : "ok stop-listen (was not listening)";
}

std::string event_format::connected(command_kind kind,
                                    const crust::peer_id& peer) const {
  auto verb = to_string(kind);
  if (mode_ == output_mode::json)
    return ok_object(verb).add("peer", peer.to_hex()).str();
  return "ok " + std::string{verb} + " " + peer.to_hex();
}

std::string event_format::info(uint32_t token, const std::string& text) const {
  if (mode_ == output_mode::json)
    return ok_object("info").add_number("token", token).add("info", text).str();
  return "info " + text;
}

std::string event_format::sent(const crust::peer_id& peer, uint8_t priority,
                               size_t size, uint64_t queued_bytes) const {
  if (mode_ == output_mode::json)
    return ok_object("send")
      .add("peer", peer.to_hex())
      .add_number("priority", priority)
      .add_number("size", size)
      .add_number("queued_bytes", queued_bytes)
      .str();
  return "ok send " + short_id(peer) + " " + std::to_string(size) + " bytes";
}

std::string event_format::file_sent(const crust::peer_id& peer,
                                    uint8_t priority, const std::string& name,
                                    size_t size, const std::string& sha256,
                                    uint64_t queued_bytes) const {
  if (mode_ == output_mode::json)
    return ok_object("send-file")
      .add("peer", peer.to_hex())
      .add_number("priority", priority)
      .add("name", name)
      .add_number("size", size)
      .add("sha256", sha256)
      .add_number("queued_bytes", queued_bytes)
      .str();
  return "ok send-file " + short_id(peer) + " " + json_string(name) + " "
         + std::to_string(size) + " bytes sha256 " + sha256;
}

std::string
event_format::peers(const std::vector<crust::peer_summary>& xs) const {
  if (mode_ == output_mode::json) {
    json_array list;
    for (const auto& x : xs)
      list.add_raw(json_object{}
                     .add("peer", x.peer.to_hex())
                     .add("remote", x.remote)
                     .add("transport", x.transport)
                     .add_bool("initiated", x.initiated)
                     .str());
    return ok_object("peers").add_raw("peers", list.str()).str();
  }
  auto out = "ok peers " + std::to_string(xs.size());
  for (const auto& x : xs)
    out += "\n  " + x.peer.to_hex() + " " + x.transport + " " + x.remote
           + (x.initiated ? " dialled" : " accepted");
  return out;
}

std::string event_format::disconnected(const crust::peer_id& peer,
                                       bool was_connected) const {
  if (mode_ == output_mode::json)
    return ok_object("disconnect")
      .add("peer", peer.to_hex())
      .add_bool("was_connected", was_connected)
      .str();
  return "ok disconnect " + short_id(peer)
         + (was_connected ? "" : " (was not connected)");
}

std::string event_format::banned(const crust::ban_set& newly,
                                 std::optional<caf::timespan> duration) const {
  if (mode_ == output_mode::json) {
    json_array peers;
    for (const auto& p : newly.peers)
      peers.add(p.to_hex());
    json_array addresses;
    for (const auto& a : newly.addresses)
      addresses.add(a);
    auto obj = ok_object("ban");
    obj.add_raw("peers", peers.str()).add_raw("addresses", addresses.str());
    if (duration)
      obj.add_number("duration_ms", millis(*duration));
    return obj.str();
  }
  std::string out = "ok ban";
  for (const auto& p : newly.peers)
    out += " " + p.to_hex();
  for (const auto& a : newly.addresses)
    out += " " + a;
  if (newly.empty())
    out += " (already banned)";
  out += duration ? " for " + duration_text(*duration) : " for the session";
  return out;
}

std::string event_format::unbanned(const std::string& target,
                                   bool was_banned) const {
  if (mode_ == output_mode::json)
    return ok_object("unban")
      .add("target", target)
      .add_bool("was_banned", was_banned)
      .str();
  return "ok unban " + target + (was_banned ? "" : " (was not banned)");
}

std::string event_format::bans(const crust::ban_list& xs) const {
  if (mode_ == output_mode::json) {
    json_array peers;
    for (const auto& p : xs.peers)
      peers.add_raw(json_object{}
                      .add("peer", p.peer.to_hex())
                      .add_bool("expires", p.expires)
                      .add_number("remaining_ms", millis(p.remaining))
                      .str());
    json_array addresses;
    for (const auto& a : xs.addresses)
      addresses.add_raw(json_object{}
                          .add("address", a.address)
                          .add_bool("expires", a.expires)
                          .add_number("remaining_ms", millis(a.remaining))
                          .str());
    return ok_object("bans")
      .add_raw("peers", peers.str())
      .add_raw("addresses", addresses.str())
      .str();
  }
  auto out = "ok bans " + std::to_string(xs.peers.size() + xs.addresses.size());
  auto left = [](bool expires, caf::timespan remaining) {
    return expires ? " " + duration_text(remaining) + " left"
                   : std::string{" for the session"};
  };
  for (const auto& p : xs.peers)
    out += "\n  peer " + p.peer.to_hex() + left(p.expires, p.remaining);
  for (const auto& a : xs.addresses)
    out += "\n  address " + a.address + left(a.expires, a.remaining);
  return out;
}

std::string event_format::stats(const crust::service_stats& x) const {
  if (mode_ == output_mode::json) {
    json_array conns;
    for (const auto& c : x.connections)
      conns.add_raw(json_object{}
                      .add("peer", c.peer.to_hex())
                      .add("remote", c.remote)
                      .add_bool("initiated", c.initiated)
                      .add_bool("connected", c.connected)
                      .add_bool("established", c.established)
                      .add_number("bytes_in", c.bytes_in)
                      .add_number("bytes_out", c.bytes_out)
                      .add_number("messages_in", c.messages_in)
                      .add_number("messages_out", c.messages_out)
                      .add_number("keepalives_in", c.keepalives_in)
                      .add_number("keepalives_out", c.keepalives_out)
                      .add_number("queued_messages", c.queued_messages)
                      .add_number("queued_bytes", c.queued_bytes)
                      .add_number("unflushed_bytes", c.unflushed_bytes)
                      .add_number("dropped_messages", c.dropped_messages)
                      .add_number("dropped_bytes", c.dropped_bytes)
                      .str());
    return ok_object("stats")
      .add_number("pending_connections", x.pending_connections)
      .add_number("accepted_total", x.accepted_total)
      .add_number("dialled_total", x.dialled_total)
      .add_number("refused_total", x.refused_total)
      .add_raw("connections", conns.str())
      .str();
  }
  auto out = "ok stats: " + std::to_string(x.connections.size())
             + " connections, " + std::to_string(x.pending_connections)
             + " pending, " + std::to_string(x.accepted_total) + " accepted, "
             + std::to_string(x.dialled_total) + " dialled, "
             + std::to_string(x.refused_total) + " refused";
  for (const auto& c : x.connections)
    out += "\n  " + short_id(c.peer) + " " + c.remote + " in "
           + std::to_string(c.messages_in) + " msgs/"
           + std::to_string(c.bytes_in) + " B, out "
           + std::to_string(c.messages_out) + " msgs/"
           + std::to_string(c.bytes_out) + " B, queued "
           + std::to_string(c.queued_messages) + " msgs/"
           + std::to_string(c.queued_bytes) + " B, dropped "
           + std::to_string(c.dropped_messages);
  return out;
}

std::string event_format::bootstrapped(const crust::bootstrap_report& x) const {
  if (mode_ == output_mode::json) {
    json_array list;
    for (const auto& c : x.candidates) {
      auto obj = json_object{};
      obj.add("peer", c.candidate.peer.to_hex())
        .add("source", to_string(c.candidate.source))
        .add("status", to_string(c.status));
      if (c.reason)
        obj.add_raw("error", error_json(c.reason));
      list.add_raw(obj.str());
    }
    auto obj = ok_object("bootstrap");
    obj.add("peer", x.peer.to_hex())
      .add("remote", x.remote)
      .add("source", to_string(x.source))
      .add_raw("candidates", list.str());
    return obj.str();
  }
  auto out = "ok bootstrap " + x.peer.to_hex() + " " + x.remote + " ("
             + std::string{to_string(x.source)} + ")";
  for (const auto& c : x.candidates) {
    out += "\n  " + c.candidate.peer.short_hex() + " "
           + std::string{to_string(c.candidate.source)} + " "
           + std::string{to_string(c.status)};
    if (c.reason)
      out += ": " + error_human(c.reason);
  }
  return out;
}

std::string
event_format::learned(const std::vector<crust::bootstrap_candidate>& xs) const {
  if (mode_ == output_mode::json) {
    json_array list;
    for (const auto& x : xs) {
      json_array eps;
      for (const auto& ep : x.endpoints)
        eps.add(ep);
      list.add_raw(json_object{}
                     .add("peer", x.peer.to_hex())
                     .add_raw("endpoints", eps.str())
                     .str());
    }
    return ok_object("learned").add_raw("peers", list.str()).str();
  }
  auto out = "ok learned " + std::to_string(xs.size());
  for (const auto& x : xs) {
    out += "\n  " + x.peer.to_hex();
    for (const auto& ep : x.endpoints)
      out += " " + ep;
  }
  return out;
}

std::string event_format::connecting_learned(size_t n) const {
  if (mode_ == output_mode::json)
    return ok_object("connect-learned").add_number("peers", n).str();
  return "ok connect-learned " + std::to_string(n);
}

std::string event_format::echoed(const crust::peer_id& peer,
                                 const std::string& observed) const {
  if (mode_ == output_mode::json)
    return ok_object("echo")
      .add("peer", peer.to_hex())
      .add("observed", observed)
      .str();
  return "ok echo " + peer.to_hex() + " sees us at " + observed;
}

std::string event_format::help() const {
  if (mode_ == output_mode::json) {
    json_array list;
    for (const auto& line : command_usage())
      list.add(line);
    return ok_object("help").add_raw("commands", list.str()).str();
  }
  std::string out = "commands (PEER: a peer id or a unique prefix of one):";
  for (const auto& line : command_usage())
    out += "\n  " + line;
  return out;
}

std::string event_format::quitting() const {
  if (mode_ == output_mode::json)
    return ok_object("quit").str();
  return "ok quit";
}

} // namespace crust_node
