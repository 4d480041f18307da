#pragma once

#include "crust/messages/expected.hpp"
#include "crust/transport/byte_span.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

/// Noise's crypto functions (X25519, ChaChaPoly / AESGCM, SHA256 / BLAKE2s,
/// HMAC, HKDF) on top of OpenSSL 3. The only file that talks to OpenSSL.
namespace crust::noise {

constexpr size_t dh_len = 32;
constexpr size_t key_len = 32;
constexpr size_t hash_len = 32; // SHA256 and BLAKE2s alike
constexpr size_t tag_len = 16;

/// Largest Noise message (spec section 3).
constexpr size_t max_message_len = 65535;

/// Nonce 2^64-1 is reserved (spec 5.1): using it means the key is spent.
constexpr uint64_t max_nonce = UINT64_MAX;

using key32 = std::array<uint8_t, 32>;

enum class cipher_kind : uint8_t { chacha_poly, aes_gcm };

enum class hash_kind : uint8_t { sha256, blake2s };

/// The DH function is always 25519.
struct suite {
  cipher_kind cipher = cipher_kind::chacha_poly;
  hash_kind hash = hash_kind::sha256;
};

std::string_view to_string(cipher_kind x) noexcept;

std::string_view to_string(hash_kind x) noexcept;

/// Overwrites memory in a way the compiler may not elide.
void secure_wipe(void* data, size_t size) noexcept;

/// Compares in time independent of the contents.
bool constant_time_equal(const_byte_span x, const_byte_span y) noexcept;

/// Fills `out` from OpenSSL's CSPRNG.
status random_bytes(uint8_t* out, size_t size) noexcept;

/// OpenSSL's loaded form of an X25519 private key (opaque).
struct loaded_x25519_key;

/// An X25519 key pair. The private half is wiped when the pair dies.
struct keypair {
  key32 priv{};
  key32 pub{};

  /// OpenSSL's loaded form of `priv`, shared by copies: loading a private
  /// key costs a scalar multiplication, as much as the DH itself. Used only
  /// while it still matches `priv` and `pub`.
  std::shared_ptr<const loaded_x25519_key> loaded;

  keypair() = default;
  keypair(const keypair&) = default;
  keypair& operator=(const keypair&) = default;
  ~keypair();

  /// A fresh random key pair.
  static expected<keypair> generate();

  /// The pair belonging to a known private key.
  static expected<keypair> from_private(const key32& priv);

  /// True when `pub` is known to belong to `priv` (the pair came from
  /// generate() or from_private() and was not altered since).
  bool is_consistent() const noexcept;
};

/// X25519(priv, pub). Fails with `invalid_public_key` when the result is all
/// zeros (a low-order point), which would make the shared secret public.
expected<key32> dh(const key32& priv, const key32& pub);

/// X25519(local.priv, pub), reusing the loaded key when there is one.
expected<key32> dh(const keypair& local, const key32& pub);

/// Seals `plaintext` with nonce `n`: writes plaintext.size() + tag_len bytes
/// to `out`. The nonce encoding follows the cipher (ChaChaPoly little endian,
/// AESGCM big endian). `out` may alias `plaintext`.
status aead_seal(cipher_kind cipher, const key32& k, uint64_t n,
                 const_byte_span ad, const_byte_span plaintext, uint8_t* out);

/// Opens `ciphertext` (which ends in the tag): writes ciphertext.size() -
/// tag_len bytes to `out`. On failure nothing is promised about `out` but no
/// plaintext is considered valid. `out` may alias `ciphertext`.
status aead_open(cipher_kind cipher, const key32& k, uint64_t n,
                 const_byte_span ad, const_byte_span ciphertext, uint8_t* out);

/// HASH(data) with the suite's hash function.
key32 hash(hash_kind h, const_byte_span data);

/// HASH(a || b) without concatenating.
key32 hash2(hash_kind h, const_byte_span a, const_byte_span b);

/// HMAC-HASH(key, data) (RFC 2104; for BLAKE2s the generic HMAC, not the
/// keyed BLAKE2s MAC).
key32 hmac(hash_kind h, const_byte_span key, const_byte_span data);

/// Noise's HKDF(chaining_key, input_key_material, num_outputs) for 2 or 3
/// outputs (spec 4.3).
void hkdf(hash_kind h, const key32& chaining_key, const_byte_span ikm,
          key32& out1, key32& out2, key32* out3 = nullptr);

} // namespace crust::noise
