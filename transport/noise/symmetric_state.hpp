#pragma once

#include "crust/messages/expected.hpp"
#include "crust/transport/byte_span.hpp"
#include "crust/transport/noise/cipher_state.hpp"
#include "crust/transport/noise/primitives.hpp"

#include <string_view>

namespace crust::noise {

/// Noise SymmetricState (spec 5.2): the chaining key, the handshake hash and
/// the handshake's CipherState. Internal to handshake_state.
class symmetric_state {
public:
  /// InitializeSymmetric(protocol_name).
  symmetric_state(suite algorithms, std::string_view protocol_name);

  symmetric_state(const symmetric_state&) = delete;
  symmetric_state& operator=(const symmetric_state&) = delete;

  ~symmetric_state();

  void mix_key(const_byte_span input_key_material);

  void mix_hash(const_byte_span data);

  void mix_key_and_hash(const_byte_span input_key_material);

  bool has_key() const noexcept {
    return cipher_.has_key();
  }

  const key32& handshake_hash() const noexcept {
    return h_;
  }

  /// Appends the ciphertext to `out`, then hashes it.
  status encrypt_and_hash(const_byte_span plaintext, byte_buffer& out);

  /// Appends the plaintext to `out`, then hashes the ciphertext. On failure
  /// neither `out` nor h change.
  status decrypt_and_hash(const_byte_span ciphertext, byte_buffer& out);

  /// Split(): the two transport CipherStates (c1 for initiator to responder).
  void split(cipher_state& c1, cipher_state& c2);

  /// Wipes the chaining key and the handshake key; h stays readable.
  void wipe() noexcept;

private:
  suite suite_;
  key32 ck_{};
  key32 h_{};
  cipher_state cipher_;
};

} // namespace crust::noise
