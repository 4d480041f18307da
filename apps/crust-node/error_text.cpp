#include "error_text.hpp"

#include "crust/messages/type_ids.hpp"

#include <caf/exit_reason.hpp>
#include <caf/pec.hpp>
#include <caf/sec.hpp>

#include <utility>

namespace crust_node {

std::string_view errc_name(crust::errc code) noexcept {
  using crust::errc;
  // No default: a new errc fails the build here until it has a name, so the
  // JSON schema never prints an unnamed code.
  switch (code) {
    case errc::none: return "none";
    case errc::decrypt_failed: return "decrypt_failed";
    case errc::nonce_exhausted: return "nonce_exhausted";
    case errc::handshake_state: return "handshake_state";
    case errc::handshake_incomplete: return "handshake_incomplete";
    case errc::malformed_message: return "malformed_message";
    case errc::message_too_large: return "message_too_large";
    case errc::unknown_version: return "unknown_version";
    case errc::network_mismatch: return "network_mismatch";
    case errc::invalid_public_key: return "invalid_public_key";
    case errc::unsupported_protocol: return "unsupported_protocol";
    case errc::replayed_packet: return "replayed_packet";
    case errc::packet_too_old: return "packet_too_old";
    case errc::peer_refused: return "peer_refused";
    case errc::peer_id_mismatch: return "peer_id_mismatch";
    case errc::key_file_permissions: return "key_file_permissions";
    case errc::key_file_io: return "key_file_io";
    case errc::key_file_malformed: return "key_file_malformed";
    case errc::bad_peer_id: return "bad_peer_id";
    case errc::invalid_config: return "invalid_config";
    case errc::crypto_failure: return "crypto_failure";
    case errc::bad_address: return "bad_address";
    case errc::bad_connection_info: return "bad_connection_info";
    case errc::queue_full: return "queue_full";
    case errc::handshake_timeout: return "handshake_timeout";
    case errc::peer_closed: return "peer_closed";
    case errc::peer_silent: return "peer_silent";
    case errc::duplicate_connection: return "duplicate_connection";
    case errc::rate_exceeded: return "rate_exceeded";
    case errc::banned: return "banned";
    case errc::not_whitelisted: return "not_whitelisted";
    case errc::peer_not_found: return "peer_not_found";
    case errc::connect_to_self: return "connect_to_self";
    case errc::connect_failed: return "connect_failed";
    case errc::not_listening: return "not_listening";
    case errc::shutting_down: return "shutting_down";
    case errc::socket_failure: return "socket_failure";
    case errc::not_reachable: return "not_reachable";
    case errc::not_accepting: return "not_accepting";
    case errc::no_candidates: return "no_candidates";
    case errc::bootstrap_timeout: return "bootstrap_timeout";
    case errc::bootstrap_running: return "bootstrap_running";
    case errc::cancelled: return "cancelled";
    case errc::file_io: return "file_io";
  }
  return "unknown";
}

error_text describe(const caf::error& err, const error_renderer& render) {
  error_text out;
  // CAF 0.17 dereferences a null error's data in category(): ask first.
  if (!err) {
    out.code = "none";
    out.category = "none";
    out.message = "no error";
    return out;
  }
  auto category = err.category();
  if (category == crust::error_category) {
    out.code = errc_name(static_cast<crust::errc>(err.code()));
    out.category = "crust";
  } else if (category == caf::atom("system")) {
    out.code = caf::to_string(static_cast<caf::sec>(err.code()));
    out.category = "system";
  } else if (category == caf::atom("exit")) {
    out.code = caf::to_string(static_cast<caf::exit_reason>(err.code()));
    out.category = "exit";
  } else if (category == caf::atom("parser")) {
    out.code = caf::to_string(static_cast<caf::pec>(err.code()));
    out.category = "parser";
  } else {
    out.code = std::to_string(err.code());
    out.category = caf::to_string(category);
  }
  out.message = render(err);
  return out;
}

error_text command_error(std::string message) {
  return error_text{"bad_command", "crust-node", std::move(message)};
}

} // namespace crust_node
