#pragma once

#include "crust/messages/expected.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace crust {

/// A node's settings. Every field is a CAF option in the `crust` group
/// (docs/configuration.md); the defaults need no config file.
struct node_config {
  /// Default for `network_name`: nodes only talk to nodes of the same name.
  static constexpr const char* default_network_name = "crust-default";

  /// Default for `max_message_size`: 2 MiB, as in the original Crust.
  static constexpr size_t default_max_message_size = size_t{2} << 20;

  /// Largest accepted `max_message_size`: 64 MiB.
  static constexpr size_t max_message_size_limit = size_t{64} << 20;

  /// Longest accepted `network_name`, in bytes.
  static constexpr size_t max_network_name_size = 255;

  /// Name of the network; hashed into the secure-channel prologue.
  std::string network_name = default_network_name;

  /// The AEAD of every secure channel, TCP and rUDP: "chacha-poly"
  /// (Noise's ChaChaPoly, the default) or "aes-gcm" (AESGCM, AES-256-GCM).
  /// It is part of the Noise protocol name, so it must be the same on every
  /// node of a network, like `network_name`: nodes of different ciphers
  /// never complete a handshake (docs/configuration.md, crust.cipher).
  std::string cipher = "chacha-poly";

  /// One of trace, debug, info, warn, error, critical, off.
  std::string log_level = "info";

  /// Path of the node's private key; empty means `default_key_path()`
  /// (transport/identity.hpp).
  std::string key_file;

  /// TCP port to listen on; 0 lets the OS pick a random free port.
  uint16_t tcp_port = 0;

  /// UDP port of rUDP; 0 takes the TCP port's number when it is free there
  /// and a random one otherwise.
  uint16_t udp_port = 0;

  /// Whether rUDP is used at all: dialled as the fallback when TCP has not
  /// connected within `rudp_head_start`, and accepted while listening. Off
  /// with `crust.no-rudp`.
  bool rudp = true;

  /// How long a connect gives TCP before it also dials rUDP (0: both at
  /// once; the connect still prefers TCP when both complete). Less than
  /// `handshake_timeout`.
  caf::timespan rudp_head_start = std::chrono::milliseconds{250};

  /// Largest application message accepted or sent, in bytes (1 to 64 MiB).
  size_t max_message_size = default_max_message_size;

  // -- connections -----------------------------------------------------------

  /// A connection must be authenticated and chosen within this time.
  caf::timespan handshake_timeout = std::chrono::seconds{10};

  /// A keepalive goes out after this long without sending anything.
  caf::timespan heartbeat_interval = std::chrono::seconds{20};

  /// A peer is lost after this long without receiving anything; must exceed
  /// `heartbeat_interval`.
  caf::timespan inactivity_timeout = std::chrono::seconds{120};

  /// Payload bytes one connection may queue for sending; beyond it `send`
  /// fails with `queue_full`. At least `max_message_size`.
  size_t max_queued_bytes = size_t{32} << 20;

  /// A droppable queue (priority 2 and up) whose oldest message waited this
  /// long is dropped with every less urgent one.
  caf::timespan queue_expiry = std::chrono::seconds{60};

  /// Most pending (not yet authenticated) inbound connections; more are
  /// closed at once.
  size_t max_pending_connections = 1024;

  // -- abuse -----------------------------------------------------------------

  /// Messages per second a peer may send (averaged over a burst of one
  /// second's worth); 0 means no limit.
  uint64_t max_messages_per_second = 0;

  /// Bytes per second a peer may send, same rule; 0 means no limit.
  uint64_t max_bytes_per_second = 0;

  /// Misbehaviours after which a peer (id and address) is banned for
  /// `ban_duration`; 0 means never.
  uint32_t ban_after_misbehaviours = 0;

  /// How long an automatic ban lasts.
  caf::timespan ban_duration = std::chrono::minutes{10};

  /// IP addresses of nodes that may connect to us or that we may dial;
  /// empty means every address.
  std::vector<std::string> whitelist;

  /// IP addresses of clients that may bootstrap off us; empty means every
  /// address.
  std::vector<std::string> client_whitelist;

  /// Whether peers may bootstrap off us (off with `crust.refuse-bootstrap`).
  bool accept_bootstrap = true;

  /// We bootstrap as a client (only dial out; nobody tests that we are
  /// reachable) instead of as a node (`crust.client`).
  bool client = false;

  /// How long a bootstrapping node has to prove it is reachable at the
  /// addresses it advertises (connect back).
  caf::timespan reachability_timeout = std::chrono::seconds{3};
};

/// Checks every field of `x`. Fails with `errc::invalid_config` and a detail
/// naming the option, e.g. "crust.max-message-size: must be between 1 and
/// 67108864, got 0".
status validate(const node_config& x);

/// Declares every option of `node_config` in the `crust` group of `opts`
/// (`--crust.log-level=`, `--crust.network-name=`, `--crust.key-file=`,
/// `--crust.tcp-port=`, `--crust.max-message-size=`), so that `--help` lists
/// them and config files are type-checked.
void add_node_options(caf::config_option_set& opts);

/// Same, on the option set of `cfg`.
void add_node_options(caf::actor_system_config& cfg);

/// Reads the `crust` group from `cfg` (after `cfg.parse(...)`), filling in
/// defaults for absent options, and validates it. Fails with
/// `errc::invalid_config` naming the offending option.
expected<node_config> read_node_config(const caf::actor_system_config& cfg);

/// An actor system configuration with everything crust needs: its type-ID
/// blocks, its error category and its options; CAF's work-stealing
/// scheduler without its sleeping poll phase (docs/configuration.md,
/// "Scheduler").
class system_config : public caf::actor_system_config {
public:
  system_config();
};

} // namespace crust
