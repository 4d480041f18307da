#pragma once

#include "crust/messages/expected.hpp"
#include "crust/transport/byte_span.hpp"
#include "crust/transport/noise/primitives.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>

// OpenSSL's EVP_CIPHER_CTX, declared here so that this header stays free of
// OpenSSL includes (primitives.cpp is the only file that talks to OpenSSL).
struct evp_cipher_ctx_st;

namespace crust::noise {

/// An AEAD context keyed once and reused for many messages: each seal or open
/// only sets the IV. Internal helper of cipher_state and aead_seal/aead_open.
class aead_context {
public:
  aead_context() noexcept = default;
  aead_context(aead_context&&) noexcept = default;
  aead_context& operator=(aead_context&&) noexcept = default;
  aead_context(const aead_context&) = delete;
  aead_context& operator=(const aead_context&) = delete;
  ~aead_context() = default;

  /// Keys the context (allocating it on first use).
  status init(cipher_kind cipher, const key32& k) noexcept;

  /// True after a successful init() and before reset().
  bool ready() const noexcept {
    return ctx_ != nullptr && ready_;
  }

  /// Drops the key schedule (OpenSSL cleanses it) but keeps the allocation.
  void reset() noexcept;

  /// See aead_seal in primitives.hpp.
  status seal(uint64_t n, const_byte_span ad, const_byte_span plaintext,
              uint8_t* out) noexcept {
    return seal(n, ad, {}, plaintext, out);
  }

  /// Seals the plaintext `head` followed by `plaintext` as one AEAD message
  /// into `out` (head.size() + plaintext.size() + tag_len bytes), so that a
  /// small prefix needs no copy of the payload behind it. `out` may alias
  /// `plaintext` only when `head` is empty.
  status seal(uint64_t n, const_byte_span ad, const_byte_span head,
              const_byte_span plaintext, uint8_t* out) noexcept;

  /// See aead_open in primitives.hpp. Wipes whatever it wrote to `out` when
  /// the tag does not verify.
  status open(uint64_t n, const_byte_span ad, const_byte_span ciphertext,
              uint8_t* out) noexcept {
    return open(n, ad, ciphertext, nullptr, 0, out);
  }

  /// Opens `ciphertext`, writing the first `head_len` plaintext bytes to
  /// `head` and the rest to `out` (e.g. a prefix byte apart from the payload
  /// behind it). `head` must not overlap the other buffers. Wipes both
  /// outputs when the tag does not verify.
  status open(uint64_t n, const_byte_span ad, const_byte_span ciphertext,
              uint8_t* head, size_t head_len, uint8_t* out) noexcept;

private:
  struct ctx_deleter {
    void operator()(evp_cipher_ctx_st* ptr) const noexcept;
  };

  cipher_kind cipher_ = cipher_kind::chacha_poly;
  bool ready_ = false;
  std::unique_ptr<evp_cipher_ctx_st, ctx_deleter> ctx_;
};

} // namespace crust::noise
