#pragma once

#include "crust/messages/expected.hpp"
#include "crust/messages/peer_id.hpp"
#include "crust/transport/noise/primitives.hpp"

#include <string>

namespace crust {

/// A node's long-term identity: its X25519 static key pair. The public half
/// is the node's peer id.
///
/// The key file holds the 32-byte private key as 64 lower-case hex
/// characters and a newline (loading also accepts upper case and trailing
/// whitespace). It must be a regular file without any group or other
/// permission bits (mode 0600 or stricter).
class node_identity {
public:
  /// A fresh random identity (not stored anywhere).
  static expected<node_identity> generate();

  /// The identity belonging to a known private key.
  static expected<node_identity> from_private(const noise::key32& priv);

  /// Loads the key file at `path`. Fails with
  /// - `key_file_io` if it cannot be read (the detail names the file),
  /// - `key_file_permissions` if group or others have any access, e.g.
  ///   "/x/key has mode 0644; run chmod 600 /x/key",
  /// - `key_file_malformed` if the content is not a hex private key.
  static expected<node_identity> load(const std::string& path);

  /// Loads the key file at `path`, or creates it with a fresh identity if it
  /// does not exist: missing parent directories are created (mode 0700), the
  /// key is written to a temporary file opened with O_EXCL and mode 0600,
  /// flushed with fsync and moved into place without replacing a file that
  /// appeared meanwhile (in which case that file is loaded instead).
  static expected<node_identity> load_or_create(const std::string& path);

  /// The key pair (Noise's static key `s`).
  const noise::keypair& keys() const noexcept {
    return keys_;
  }

  /// The node's peer id: its public key.
  crust::peer_id peer_id() const noexcept {
    return crust::peer_id{keys_.pub};
  }

private:
  explicit node_identity(const noise::keypair& keys) : keys_(keys) {
    // nop
  }

  noise::keypair keys_;
};

/// Where a node keeps its key unless told otherwise:
/// `$XDG_DATA_HOME/crust/node.key` if XDG_DATA_HOME is set to an absolute
/// path, else `$HOME/.local/share/crust/node.key` (HOME from the environment
/// or the password database). Fails with `key_file_io` if there is no home.
expected<std::string> default_key_path();

} // namespace crust
