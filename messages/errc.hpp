#pragma once

#include <cstdint>
#include <string_view>

namespace crust {

/// Every error crust reports, in one enum so that user code can switch on it.
/// Registered with CAF as the "crust" error category (messages/type_ids.hpp).
enum class errc : uint8_t {
  none = 0,
  // -- secure channel --------------------------------------------------------
  decrypt_failed,
  nonce_exhausted,
  handshake_state,
  handshake_incomplete,
  malformed_message,
  message_too_large,
  unknown_version,
  network_mismatch,
  invalid_public_key,
  unsupported_protocol,
  replayed_packet,
  packet_too_old,
  peer_refused,
  peer_id_mismatch,
  // -- identity ------------------------------------------------------------
  key_file_permissions,
  key_file_io,
  key_file_malformed,
  bad_peer_id,
  // -- configuration -------------------------------------------------------
  invalid_config,
  // -- crypto backend ------------------------------------------------------
  crypto_failure,
  // -- addresses and connection info -------------------------------------
  bad_address,
  bad_connection_info,
  // -- sending -------------------------------------------------------------
  queue_full,
  // -- connections and the service -------------------------------------------
  handshake_timeout,
  peer_closed,
  peer_silent,
  duplicate_connection,
  rate_exceeded,
  banned,
  not_whitelisted,
  peer_not_found,
  connect_to_self,
  connect_failed,
  not_listening,
  shutting_down,
  // -- network ---------------------------------------------------------------
  socket_failure,
  // -- bootstrap and discovery ----------------------------------------------
  not_reachable,
  not_accepting,
  no_candidates,
  bootstrap_timeout,
  bootstrap_running,
  cancelled,
  file_io,
};

/// A sentence a person can read, for logs and events.
constexpr std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::none: return "no error";
    case errc::decrypt_failed:
      return "authentication failed: message was corrupted, forged or sent "
             "with another key";
    case errc::nonce_exhausted:
      return "nonce space exhausted: the session refuses to encrypt or "
             "decrypt more messages and must be re-established";
    case errc::handshake_state:
      return "handshake message out of turn or after completion";
    case errc::handshake_incomplete: return "the handshake has not completed";
    case errc::malformed_message:
      return "malformed message: truncated or inconsistent fields";
    case errc::message_too_large: return "message exceeds the maximum size";
    case errc::unknown_version: return "unknown protocol version";
    case errc::network_mismatch:
      return "peer belongs to a different network (network names differ)";
    case errc::invalid_public_key:
      return "invalid public key (low-order point or wrong length)";
    case errc::unsupported_protocol: return "unsupported Noise protocol name";
    case errc::replayed_packet:
      return "replayed packet: this packet number was already received";
    case errc::packet_too_old: return "packet is older than the replay window";
    case errc::peer_refused: return "the peer refused the connection";
    case errc::peer_id_mismatch:
      return "the peer's key does not match the peer id that was dialled";
    case errc::key_file_permissions:
      return "key file is readable by group or others";
    case errc::key_file_io: return "cannot read or write the key file";
    case errc::key_file_malformed: return "key file is malformed";
    case errc::bad_peer_id: return "malformed peer id";
    case errc::invalid_config: return "invalid configuration value";
    case errc::crypto_failure: return "the crypto backend failed";
    case errc::bad_address: return "malformed address or contact";
    case errc::bad_connection_info: return "malformed connection info";
    case errc::queue_full:
      return "the connection's send queue is full: the peer reads too slowly "
             "for what is being sent";
    case errc::handshake_timeout:
      return "the handshake did not complete within the deadline";
    case errc::peer_closed: return "the peer closed the connection";
    case errc::peer_silent:
      return "nothing arrived from the peer within the inactivity timeout";
    case errc::duplicate_connection:
      return "a duplicate connection to the same peer was closed (the other "
             "one was kept)";
    case errc::rate_exceeded:
      return "the peer exceeded the configured message or byte rate";
    case errc::banned: return "the peer or its address is banned";
    case errc::not_whitelisted: return "the address is not whitelisted";
    case errc::peer_not_found: return "no connection to this peer";
    case errc::connect_to_self: return "refusing to connect to ourselves";
    case errc::connect_failed: return "no address of the peer could be reached";
    case errc::not_listening: return "the node is not listening";
    case errc::shutting_down: return "the node is shutting down";
    case errc::socket_failure: return "a socket operation failed";
    case errc::not_reachable:
      return "the peer could not reach us at the addresses we advertise "
             "(reachability test failed)";
    case errc::not_accepting:
      return "the peer does not accept bootstrapping nodes";
    case errc::no_candidates:
      return "no bootstrap candidate: no cached peer, LAN peer or contact "
             "left after the blacklist";
    case errc::bootstrap_timeout:
      return "the bootstrap did not reach a peer within its budget";
    case errc::bootstrap_running: return "a bootstrap is already running";
    case errc::cancelled: return "cancelled";
    case errc::file_io: return "cannot read or write a file";
  }
  return "unknown error";
}

} // namespace crust
