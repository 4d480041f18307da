#pragma once

#include <cstddef>
#include <memory>
#include <string>

// OpenSSL types, without its headers here.
typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

/// The TLS 1.3 baseline of `crust-bench tcp`: OpenSSL over the same kind of
/// loopback socket, with a self-signed Ed25519 certificate made at start (the
/// client does not verify it: the benchmark measures the channel, not PKI).
namespace crust::bench {

/// Both ends' SSL_CTX, TLS 1.3 only, one ciphersuite.
class tls_contexts {
public:
  /// `ciphersuite` is an OpenSSL TLS 1.3 name, e.g. TLS_AES_128_GCM_SHA256.
  /// Throws `std::runtime_error` with OpenSSL's reason on failure.
  explicit tls_contexts(const std::string& ciphersuite);
  ~tls_contexts();
  tls_contexts(const tls_contexts&) = delete;
  tls_contexts& operator=(const tls_contexts&) = delete;

  SSL_CTX* server() const noexcept {
    return server_;
  }

  SSL_CTX* client() const noexcept {
    return client_;
  }

private:
  SSL_CTX* server_ = nullptr;
  SSL_CTX* client_ = nullptr;
};

/// One end of a TLS stream over a connected socket the caller owns.
class tls_stream {
public:
  /// Runs the handshake (blocking) as client or server; throws on failure.
  tls_stream(SSL_CTX* ctx, int fd, bool server);
  ~tls_stream();
  tls_stream(const tls_stream&) = delete;
  tls_stream& operator=(const tls_stream&) = delete;

  /// Writes all of `len` bytes; false on failure.
  bool write(const void* data, size_t len);

  /// Reads up to `len` bytes; 0 at the end of the stream (close_notify or
  /// TCP end), negative on failure.
  long read(void* data, size_t len);

  /// Sends close_notify.
  void shutdown();

  /// The negotiated ciphersuite.
  std::string cipher() const;

private:
  SSL* ssl_ = nullptr;
};

} // namespace crust::bench
