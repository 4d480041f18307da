#pragma once

#include "crust/messages/expected.hpp"
#include "crust/transport/byte_span.hpp"
#include "crust/transport/noise/primitives.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>

namespace crust::noise {

/// Noise CipherState (spec 5.1): a key and a counter nonce. Exactly one owner
/// uses it; a nonce is never used twice; the key is wiped on destruction.
class cipher_state {
public:
  cipher_state() noexcept;
  explicit cipher_state(cipher_kind cipher) noexcept;
  cipher_state(cipher_state&& other) noexcept;
  cipher_state& operator=(cipher_state&& other) noexcept;
  cipher_state(const cipher_state&) = delete;
  cipher_state& operator=(const cipher_state&) = delete;
  ~cipher_state();

  cipher_kind cipher() const noexcept {
    return cipher_;
  }

  void initialize_key(const key32& k) noexcept;

  bool has_key() const noexcept {
    return has_key_;
  }

  uint64_t nonce() const noexcept {
    return n_;
  }

  /// SetNonce (spec 5.1). Only for datagram mode and tests.
  void set_nonce(uint64_t n) noexcept {
    n_ = n;
  }

  /// EncryptWithAd: appends the ciphertext (plaintext plus tag, or the
  /// plaintext itself without a key) to `out` and advances the nonce. Fails
  /// with `nonce_exhausted` once the nonce reached 2^64-1.
  status encrypt_with_ad(const_byte_span ad, const_byte_span plaintext,
                         byte_buffer& out);

  /// DecryptWithAd: appends the plaintext to `out` and advances the nonce.
  /// On failure `out` and the nonce are unchanged.
  status decrypt_with_ad(const_byte_span ad, const_byte_span ciphertext,
                         byte_buffer& out);

  /// Hot-path variants writing to caller memory: `out` needs
  /// plaintext.size() + tag_len (seal) or ciphertext.size() - tag_len (open)
  /// bytes and may alias the input. Same nonce rules as above.
  status seal(const_byte_span ad, const_byte_span plaintext, uint8_t* out);
  status open(const_byte_span ad, const_byte_span ciphertext, uint8_t* out);

  /// Split variants (one AEAD message, one nonce): `seal` encrypts `head`
  /// followed by `plaintext` into `out` (head.size() + plaintext.size() +
  /// tag_len bytes); `open` writes the first `head_len` plaintext bytes to
  /// `head` and the rest to `out`. A small prefix such as a priority byte thus
  /// travels with the payload without copying the payload next to it. No
  /// output may overlap an input.
  status seal(const_byte_span ad, const_byte_span head,
              const_byte_span plaintext, uint8_t* out);
  status open(const_byte_span ad, const_byte_span ciphertext, uint8_t* head,
              size_t head_len, uint8_t* out);

  /// Explicit-nonce variants for datagrams (spec 11.4): use `n` and leave the
  /// internal counter alone. `n` must not be 2^64-1.
  status seal_at(uint64_t n, const_byte_span ad, const_byte_span plaintext,
                 uint8_t* out);
  status open_at(uint64_t n, const_byte_span ad, const_byte_span ciphertext,
                 uint8_t* out);

  /// Rekey (spec 11.3): k = ENCRYPT(k, 2^64-1, "", zeros)[0:32]; n unchanged.
  status rekey();

  /// Wipes the key; the state then has no key.
  void clear() noexcept;

private:
  struct impl;

  /// The AEAD context keyed with k_, built on first use; nullptr and `st`
  /// set when OpenSSL fails.
  impl* keyed_impl(status& st) noexcept;

  cipher_kind cipher_ = cipher_kind::chacha_poly;
  bool has_key_ = false;
  uint64_t n_ = 0;
  key32 k_{};
  /// Cached OpenSSL context keyed with k_, so each message only sets an IV.
  std::unique_ptr<impl> impl_;
};

} // namespace crust::noise
