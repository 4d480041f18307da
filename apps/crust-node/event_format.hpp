#pragma once

#include "crust/messages/ban.hpp"
#include "crust/messages/connection_events.hpp"
#include "crust/messages/discovery.hpp"
#include "crust/messages/peer_id.hpp"
#include "crust/messages/service_events.hpp"
#include "crust/nat/port_mapping.hpp"

#include "command.hpp"
#include "error_text.hpp"
#include "file_message.hpp"

#include <caf/error.hpp>
#include <caf/timespan.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

/// Everything crust-node prints on stdout, one event per line: for people,
/// or as JSON objects with an "event" field (docs/crust-node.md lists every
/// event and its fields). Pure: returns text, writes nothing. A result may
/// span several lines for people (`peers`, `stats`, `help`), never in JSON.
namespace crust_node {

enum class output_mode { human, json };

class event_format {
public:
  event_format(output_mode mode, error_renderer render);

  output_mode mode() const noexcept {
    return mode_;
  }

  // -- crust-node's own events ----------------------------------------------

  /// First line: `peer-id <hex>`.
  std::string identity(const crust::peer_id& id,
                       const std::string& key_file) const;

  /// A text or binary message (not a file).
  std::string message(const crust::new_message& x) const;

  /// A file arrived; `saved_path` is where it was written, `save_error` why
  /// it was not (both empty: no receive directory).
  std::string file_received(const crust::peer_id& peer, uint8_t priority,
                            const file_view& file,
                            const std::string& saved_path,
                            const std::string& save_error) const;

  /// The node stops (last line).
  std::string stopping(const std::string& reason) const;

  // -- events of the SERVICE ------------------------------------------------

  std::string event(const crust::listener_started& x) const;
  std::string event(const crust::listener_failed& x) const;
  /// `found`: how we found the peer ("contact", "lan", "cache", "gossip",
  /// "inbound", "manual"); empty leaves it out.
  std::string event(const crust::connect_success& x,
                    std::string_view found = {}) const;
  std::string event(const crust::connect_failure& x) const;
  std::string event(const crust::lost_peer& x) const;
  std::string event(const crust::peer_misbehaved& x) const;
  std::string event(const crust::message_too_large& x) const;
  std::string event(const crust::messages_dropped& x) const;
  std::string event(const crust::connection_info_prepared& x) const;
  std::string event(const crust::bootstrap_connect& x) const;
  std::string event(const crust::bootstrap_failed& x) const;
  std::string event(const crust::bootstrap_accept& x) const;

  // -- events of the PORT MAPPER (--crust.nat.upnp) -------------------------

  std::string port_mapped(const crust::port_mapping& x) const;
  std::string port_mapping_failed(uint16_t port, const caf::error& err) const;

  // -- command results ------------------------------------------------------

  /// A command failed; `input` is the line as typed.
  std::string command_failed(std::optional<command_kind> kind,
                             const std::string& input,
                             const error_text& err) const;

  std::string command_failed(std::optional<command_kind> kind,
                             const std::string& input,
                             const caf::error& err) const;

  std::string listening(uint16_t port) const;
  std::string stopped_listening(bool was_listening) const;
  std::string connected(command_kind kind, const crust::peer_id& peer) const;
  std::string info(uint32_t token, const std::string& text) const;
  std::string sent(const crust::peer_id& peer, uint8_t priority, size_t size,
                   uint64_t queued_bytes) const;
  std::string file_sent(const crust::peer_id& peer, uint8_t priority,
                        const std::string& name, size_t size,
                        const std::string& sha256, uint64_t queued_bytes) const;
  std::string peers(const std::vector<crust::peer_summary>& xs) const;
  std::string disconnected(const crust::peer_id& peer,
                           bool was_connected) const;
  std::string banned(const crust::ban_set& newly,
                     std::optional<caf::timespan> duration) const;
  std::string unbanned(const std::string& target, bool was_banned) const;
  std::string bans(const crust::ban_list& xs) const;
  std::string stats(const crust::service_stats& x) const;
  std::string bootstrapped(const crust::bootstrap_report& x) const;
  std::string learned(const std::vector<crust::bootstrap_candidate>& xs) const;
  std::string connecting_learned(size_t n) const;
  std::string echoed(const crust::peer_id& peer,
                     const std::string& observed) const;
  std::string help() const;
  std::string quitting() const;

private:
  std::string error_json(const caf::error& err) const;
  std::string error_json(const error_text& err) const;
  std::string error_human(const caf::error& err) const;

  output_mode mode_;
  error_renderer render_;
};

} // namespace crust_node
