#include "tls_stream.hpp"

#include <climits>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdexcept>

namespace crust::bench {

namespace {

[[noreturn]] void fail(const std::string& what) {
  char reason[256] = "unknown reason";
  if (auto code = ERR_get_error())
    ERR_error_string_n(code, reason, sizeof(reason));
  ERR_clear_error();
  throw std::runtime_error(what + ": " + reason);
}

template<class T, void (*Free)(T*)>
struct openssl_deleter {
  void operator()(T* x) const noexcept {
    Free(x);
  }
};

using pkey_ptr
  = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, openssl_deleter<X509, X509_free>>;

/// A self-signed Ed25519 certificate for "crust-bench", valid for a day.
x509_ptr self_signed(EVP_PKEY* key) {
  x509_ptr cert{X509_new()};
  if (!cert)
    fail("X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24L * 3600);
  auto* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(
    name, "CN", MBSTRING_ASC,
    reinterpret_cast<const unsigned char*>("crust-bench"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  if (X509_set_pubkey(cert.get(), key) != 1)
    fail("X509_set_pubkey");
  // Ed25519 signs without a separate digest.
  if (X509_sign(cert.get(), key, nullptr) <= 0)
    fail("X509_sign");
  return cert;
}

SSL_CTX* make_context(const SSL_METHOD* method,
                      const std::string& ciphersuite) {
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (ctx == nullptr)
    fail("SSL_CTX_new");
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  if (SSL_CTX_set_ciphersuites(ctx, ciphersuite.c_str()) != 1) {
    SSL_CTX_free(ctx);
    fail("SSL_CTX_set_ciphersuites " + ciphersuite);
  }
  // Every connect of the set-up figure is a full handshake.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  return ctx;
}

} // namespace

tls_contexts::tls_contexts(const std::string& ciphersuite) {
  pkey_ptr key{EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")};
  if (!key)
    fail("Ed25519 key generation");
  auto cert = self_signed(key.get());
  server_ = make_context(TLS_server_method(), ciphersuite);
  client_ = make_context(TLS_client_method(), ciphersuite);
  if (SSL_CTX_use_certificate(server_, cert.get()) != 1
      || SSL_CTX_use_PrivateKey(server_, key.get()) != 1)
    fail("loading the certificate");
  // TLS 1.3 servers send session tickets after the handshake by default.
  SSL_CTX_set_num_tickets(server_, 0);
  SSL_CTX_set_verify(client_, SSL_VERIFY_NONE, nullptr);
}

tls_contexts::~tls_contexts() {
  SSL_CTX_free(server_);
  SSL_CTX_free(client_);
}

tls_stream::tls_stream(SSL_CTX* ctx, int fd, bool server) {
  ssl_ = SSL_new(ctx);
  if (ssl_ == nullptr)
    fail("SSL_new");
  SSL_set_fd(ssl_, fd);
  if ((server ? SSL_accept(ssl_) : SSL_connect(ssl_)) != 1) {
    SSL_free(ssl_);
    ssl_ = nullptr;
    fail(server ? "TLS accept" : "TLS connect");
  }
}

tls_stream::~tls_stream() {
  SSL_free(ssl_);
}

bool tls_stream::write(const void* data, size_t len) {
  size_t written = 0;
  return SSL_write_ex(ssl_, data, len, &written) == 1 && written == len;
}

long tls_stream::read(void* data, size_t len) {
  size_t n = 0;
  if (SSL_read_ex(ssl_, data, len, &n) == 1)
    return static_cast<long>(n);
  auto err = SSL_get_error(ssl_, 0);
  ERR_clear_error();
  return err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL ? 0 : -1;
}

void tls_stream::shutdown() {
  SSL_shutdown(ssl_);
}

std::string tls_stream::cipher() const {
  auto* name = SSL_get_cipher_name(ssl_);
  return name ? name : "";
}

} // namespace crust::bench
