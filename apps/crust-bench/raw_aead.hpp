#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace crust::bench {

/// The baseline: OpenSSL's ChaCha20-Poly1305 driven directly, in its best
/// case (contexts keyed once, only the IV set per message, in place).
class raw_aead {
public:
  raw_aead();
  raw_aead(const raw_aead&) = delete;
  raw_aead& operator=(const raw_aead&) = delete;
  ~raw_aead();

  /// Seals `size` bytes of `buf` in place and appends the tag; returns the
  /// sealed size.
  size_t seal(uint8_t* buf, size_t size, uint64_t nonce);

  /// Opens `size` sealed bytes (tag at the end) in place; false on a bad tag.
  bool open(uint8_t* buf, size_t size, uint64_t nonce);

private:
  void* enc_; // EVP_CIPHER_CTX*, kept opaque to keep OpenSSL out of headers
  void* dec_;
};

} // namespace crust::bench
