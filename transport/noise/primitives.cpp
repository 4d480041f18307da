#include "crust/transport/noise/primitives.hpp"

#include "crust/transport/noise/aead_context.hpp"

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <string>

namespace crust::noise {

namespace {

// -- OpenSSL objects fetched once ---------------------------------------------

/// Algorithm objects fetched from the default library context on first use
/// (C++11 guarantees a thread-safe static initialisation). They live until
/// the process exits on purpose: freeing them from a static destructor could
/// race OpenSSL's own atexit cleanup.
struct algorithm_table {
  EVP_CIPHER* chacha_poly = nullptr;
  EVP_CIPHER* aes_gcm = nullptr;
  EVP_MD* sha256 = nullptr;
  EVP_MD* blake2s = nullptr;
};

const algorithm_table& algorithms() {
  static const algorithm_table table = [] {
    algorithm_table result;
    result.chacha_poly = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305",
                                          nullptr);
    result.aes_gcm = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    result.sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    result.blake2s = EVP_MD_fetch(nullptr, "BLAKE2S-256", nullptr);
    ERR_clear_error();
    return result;
  }();
  return table;
}

const EVP_CIPHER* cipher_for(cipher_kind x) {
  return x == cipher_kind::chacha_poly ? algorithms().chacha_poly
                                       : algorithms().aes_gcm;
}

/// HMAC's block size for SHA-256 and BLAKE2s alike (RFC 2104, RFC 7693).
constexpr size_t hmac_block_len = 64;

/// Hashing has no error channel in the interface: a digest that cannot run
/// means a broken crypto backend, and continuing with garbage keys would be
/// worse than stopping.
[[noreturn]] void fatal(const char* what) noexcept {
  std::fprintf(stderr, "crust::noise: fatal OpenSSL failure: %s\n", what);
  std::abort();
}

const EVP_MD* md_for(hash_kind x) {
  const auto* md = x == hash_kind::sha256 ? algorithms().sha256
                                          : algorithms().blake2s;
  if (md == nullptr)
    fatal(x == hash_kind::sha256 ? "SHA256 unavailable"
                                 : "BLAKE2S-256 unavailable");
  return md;
}

/// A failure carrying OpenSSL's first queued error, which it also clears so
/// that later OpenSSL users do not see stale errors.
failure openssl_failure(errc code, const char* what) {
  std::string detail = what;
  if (auto err = ERR_get_error(); err != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    detail += " (";
    detail += buf;
    detail += ')';
  }
  ERR_clear_error();
  return failure{code, std::move(detail)};
}

struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* ptr) const noexcept {
    EVP_MD_CTX_free(ptr);
  }
};

struct pkey_deleter {
  void operator()(EVP_PKEY* ptr) const noexcept {
    EVP_PKEY_free(ptr);
  }
};

struct pkey_ctx_deleter {
  void operator()(EVP_PKEY_CTX* ptr) const noexcept {
    EVP_PKEY_CTX_free(ptr);
  }
};

using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_deleter>;

/// HASH(parts[0] || parts[1] || ...).
key32 digest(hash_kind h, std::initializer_list<const_byte_span> parts) {
  md_ctx_ptr ctx{EVP_MD_CTX_new()};
  if (!ctx || EVP_DigestInit_ex2(ctx.get(), md_for(h), nullptr) != 1)
    fatal("digest init");
  for (auto part : parts)
    if (!part.empty()
        && EVP_DigestUpdate(ctx.get(), part.data(), part.size()) != 1)
      fatal("digest update");
  key32 out;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != hash_len)
    fatal("digest final");
  return out;
}

bool fits_int(size_t n) {
  return n <= static_cast<size_t>(INT_MAX);
}

/// The 96-bit AEAD nonce: 32 zero bits, then the 64-bit counter, little
/// endian for ChaChaPoly and big endian for AESGCM (spec 12.3 and 12.4).
void make_iv(cipher_kind cipher, uint64_t n, uint8_t (&iv)[12]) {
  std::memset(iv, 0, 4);
  for (size_t i = 0; i < 8; ++i) {
    auto shift = cipher == cipher_kind::chacha_poly ? 8 * i : 8 * (7 - i);
    iv[4 + i] = static_cast<uint8_t>(n >> shift);
  }
}

pkey_ptr x25519_private(const key32& priv) {
  return pkey_ptr{EVP_PKEY_new_raw_private_key_ex(nullptr, "X25519", nullptr,
                                                  priv.data(), priv.size())};
}

} // namespace

/// Keeps the EVP_PKEY of a private key with the halves it was loaded from.
struct loaded_x25519_key {
  pkey_ptr pkey;
  key32 priv{};
  key32 pub{};

  ~loaded_x25519_key() {
    secure_wipe(priv.data(), priv.size());
  }
};

// -- names --------------------------------------------------------------------

std::string_view to_string(cipher_kind x) noexcept {
  return x == cipher_kind::chacha_poly ? "ChaChaPoly" : "AESGCM";
}

std::string_view to_string(hash_kind x) noexcept {
  return x == hash_kind::sha256 ? "SHA256" : "BLAKE2s";
}

// -- memory and randomness ----------------------------------------------------

void secure_wipe(void* data, size_t size) noexcept {
  if (data != nullptr && size > 0)
    OPENSSL_cleanse(data, size);
}

bool constant_time_equal(const_byte_span x, const_byte_span y) noexcept {
  // The lengths are public; only the contents must not leak through timing.
  if (x.size() != y.size())
    return false;
  if (x.empty())
    return true;
  return CRYPTO_memcmp(x.data(), y.data(), x.size()) == 0;
}

status random_bytes(uint8_t* out, size_t size) noexcept {
  while (size > 0) {
    auto chunk = fits_int(size) ? size : static_cast<size_t>(INT_MAX);
    if (RAND_bytes(out, static_cast<int>(chunk)) != 1)
      return openssl_failure(errc::crypto_failure, "RAND_bytes failed");
    out += chunk;
    size -= chunk;
  }
  return {};
}

// -- X25519 -------------------------------------------------------------------

keypair::~keypair() {
  secure_wipe(priv.data(), priv.size());
}

expected<keypair> keypair::generate() {
  key32 priv;
  if (auto st = random_bytes(priv.data(), priv.size()); !st)
    return st.error();
  auto result = from_private(priv);
  secure_wipe(priv.data(), priv.size());
  return result;
}

expected<keypair> keypair::from_private(const key32& priv) {
  auto pkey = x25519_private(priv);
  if (!pkey)
    return openssl_failure(errc::crypto_failure,
                           "cannot load an X25519 private key");
  keypair result;
  size_t len = result.pub.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), result.pub.data(), &len) != 1
      || len != result.pub.size())
    return openssl_failure(errc::crypto_failure,
                           "cannot derive the X25519 public key");
  result.priv = priv;
  auto loaded = std::make_shared<loaded_x25519_key>();
  loaded->pkey = std::move(pkey);
  loaded->priv = priv;
  loaded->pub = result.pub;
  result.loaded = std::move(loaded);
  return result;
}

bool keypair::is_consistent() const noexcept {
  return loaded != nullptr && constant_time_equal(loaded->priv, priv)
         && loaded->pub == pub;
}

namespace {

expected<key32> derive(EVP_PKEY* sk, const key32& pub) {
  pkey_ptr pk{EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr,
                                             pub.data(), pub.size())};
  if (!pk)
    return openssl_failure(errc::crypto_failure, "cannot load X25519 keys");
  pkey_ctx_ptr ctx{EVP_PKEY_CTX_new_from_pkey(nullptr, sk, nullptr)};
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1
      || EVP_PKEY_derive_set_peer(ctx.get(), pk.get()) != 1)
    return openssl_failure(errc::crypto_failure, "X25519 setup failed");
  key32 out;
  size_t len = out.size();
  // OpenSSL itself refuses an all-zero shared secret (low-order peer point),
  // so a failing derive means an invalid public key.
  if (EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1 || len != out.size())
    return openssl_failure(errc::invalid_public_key,
                           "X25519 with this public key gives no secret");
  // Checked again here so the guarantee does not rest on OpenSSL alone.
  uint8_t acc = 0;
  for (auto b : out)
    acc |= b;
  if (acc == 0) {
    secure_wipe(out.data(), out.size());
    return failure{errc::invalid_public_key,
                   "X25519 result is all zeros (low-order public key)"};
  }
  return out;
}

} // namespace

expected<key32> dh(const key32& priv, const key32& pub) {
  auto sk = x25519_private(priv);
  if (!sk)
    return openssl_failure(errc::crypto_failure, "cannot load X25519 keys");
  return derive(sk.get(), pub);
}

expected<key32> dh(const keypair& local, const key32& pub) {
  if (local.is_consistent())
    return derive(local.loaded->pkey.get(), pub);
  return dh(local.priv, pub);
}

// -- AEAD ---------------------------------------------------------------------

void aead_context::ctx_deleter::operator()(
  evp_cipher_ctx_st* ptr) const noexcept {
  EVP_CIPHER_CTX_free(ptr); // cleanses the key schedule
}

status aead_context::init(cipher_kind cipher, const key32& k) noexcept {
  ready_ = false;
  cipher_ = cipher;
  const auto* evp_cipher = cipher_for(cipher);
  if (evp_cipher == nullptr)
    return failure{errc::crypto_failure,
                   std::string{to_string(cipher)} + " unavailable in OpenSSL"};
  if (!ctx_) {
    ctx_.reset(EVP_CIPHER_CTX_new());
    if (!ctx_)
      return openssl_failure(errc::crypto_failure, "EVP_CIPHER_CTX_new");
  }
  if (EVP_EncryptInit_ex(ctx_.get(), evp_cipher, nullptr, k.data(), nullptr)
      != 1)
    return openssl_failure(errc::crypto_failure, "AEAD key setup failed");
  ready_ = true;
  return {};
}

void aead_context::reset() noexcept {
  ready_ = false;
  if (ctx_)
    EVP_CIPHER_CTX_reset(ctx_.get()); // cleanses the key schedule
}

status aead_context::seal(uint64_t n, const_byte_span ad, const_byte_span head,
                          const_byte_span plaintext, uint8_t* out) noexcept {
  if (!ready())
    return failure{errc::crypto_failure, "AEAD context has no key"};
  if (!fits_int(ad.size()) || !fits_int(head.size())
      || !fits_int(plaintext.size())
      || !fits_int(head.size() + plaintext.size()))
    return failure{errc::message_too_large, "AEAD input exceeds INT_MAX"};
  uint8_t iv[12];
  make_iv(cipher_, n, iv);
  auto* ctx = ctx_.get();
  // Only the IV changes per message; the key schedule stays in the context.
  // The IV (re)start also resets the AEAD's stream and MAC state.
  if (EVP_CipherInit_ex2(ctx, nullptr, nullptr, iv, 1, nullptr) != 1)
    return openssl_failure(errc::crypto_failure, "AEAD IV setup failed");
  int len = 0;
  if (!ad.empty()
      && EVP_EncryptUpdate(ctx, nullptr, &len, ad.data(),
                           static_cast<int>(ad.size()))
           != 1)
    return openssl_failure(errc::crypto_failure, "AEAD AD failed");
  // Head and plaintext are one stream to the AEAD: OpenSSL carries the
  // keystream and MAC state across the two updates.
  size_t written = 0;
  for (auto part : {head, plaintext}) {
    if (part.empty())
      continue;
    if (EVP_EncryptUpdate(ctx, out + written, &len, part.data(),
                          static_cast<int>(part.size()))
        != 1)
      return openssl_failure(errc::crypto_failure, "AEAD encrypt failed");
    written += static_cast<size_t>(len);
  }
  if (EVP_EncryptFinal_ex(ctx, out + written, &len) != 1)
    return openssl_failure(errc::crypto_failure, "AEAD finalisation failed");
  written += static_cast<size_t>(len);
  // A direct parameter read: EVP_CIPHER_CTX_ctrl would only translate to it.
  OSSL_PARAM get_tag[] = {OSSL_PARAM_construct_octet_string(
                            OSSL_CIPHER_PARAM_AEAD_TAG, out + written, tag_len),
                          OSSL_PARAM_construct_end()};
  if (written != head.size() + plaintext.size()
      || EVP_CIPHER_CTX_get_params(ctx, get_tag) != 1)
    return openssl_failure(errc::crypto_failure, "AEAD tag missing");
  return {};
}

status aead_context::open(uint64_t n, const_byte_span ad,
                          const_byte_span ciphertext, uint8_t* head,
                          size_t head_len, uint8_t* out) noexcept {
  if (!ready())
    return failure{errc::crypto_failure, "AEAD context has no key"};
  if (ciphertext.size() < tag_len + head_len)
    return failure{errc::decrypt_failed, "ciphertext shorter than the tag"};
  if (!fits_int(ad.size()) || !fits_int(ciphertext.size()))
    return failure{errc::message_too_large, "AEAD input exceeds INT_MAX"};
  auto body_len = ciphertext.size() - tag_len - head_len;
  // Copied first: `out` may alias `ciphertext`.
  uint8_t tag[tag_len];
  std::memcpy(tag, ciphertext.data() + head_len + body_len, tag_len);
  uint8_t iv[12];
  make_iv(cipher_, n, iv);
  auto* ctx = ctx_.get();
  // IV and expected tag in one call (one provider round trip instead of an
  // init plus a ctrl). The IV restart also clears whatever a previous
  // failed open left behind.
  OSSL_PARAM set_tag[] = {
    OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, tag_len),
    OSSL_PARAM_construct_end()};
  if (EVP_CipherInit_ex2(ctx, nullptr, nullptr, iv, 0, set_tag) != 1)
    return openssl_failure(errc::crypto_failure, "AEAD IV setup failed");
  int len = 0;
  if (!ad.empty()
      && EVP_DecryptUpdate(ctx, nullptr, &len, ad.data(),
                           static_cast<int>(ad.size()))
           != 1)
    return openssl_failure(errc::crypto_failure, "AEAD AD failed");
  auto wipe = [&] {
    if (head_len > 0)
      secure_wipe(head, head_len);
    if (body_len > 0)
      secure_wipe(out, body_len);
  };
  // The head goes to its own place; the stream state carries over to the
  // body (see seal).
  size_t written = 0;
  if (head_len > 0) {
    if (EVP_DecryptUpdate(ctx, head, &len, ciphertext.data(),
                          static_cast<int>(head_len))
          != 1
        || static_cast<size_t>(len) != head_len) {
      wipe();
      return openssl_failure(errc::crypto_failure, "AEAD decrypt failed");
    }
  }
  if (body_len > 0) {
    if (EVP_DecryptUpdate(ctx, out, &len, ciphertext.data() + head_len,
                          static_cast<int>(body_len))
        != 1) {
      wipe();
      return openssl_failure(errc::crypto_failure, "AEAD decrypt failed");
    }
    written = static_cast<size_t>(len);
  }
  // The tag check happens here, inside OpenSSL's AEAD finalisation, which
  // compares in constant time (CRYPTO_memcmp); no tag comparison of our own.
  if (EVP_DecryptFinal_ex(ctx, out + written, &len) != 1) {
    // Never leave unauthenticated plaintext behind.
    wipe();
    ERR_clear_error();
    return failure{errc::decrypt_failed, "tag mismatch"};
  }
  return {};
}

status aead_seal(cipher_kind cipher, const key32& k, uint64_t n,
                 const_byte_span ad, const_byte_span plaintext, uint8_t* out) {
  aead_context ctx;
  if (auto st = ctx.init(cipher, k); !st)
    return st;
  return ctx.seal(n, ad, plaintext, out);
}

status aead_open(cipher_kind cipher, const key32& k, uint64_t n,
                 const_byte_span ad, const_byte_span ciphertext, uint8_t* out) {
  aead_context ctx;
  if (auto st = ctx.init(cipher, k); !st)
    return st;
  return ctx.open(n, ad, ciphertext, out);
}

// -- hashing ------------------------------------------------------------------

key32 hash(hash_kind h, const_byte_span data) {
  return digest(h, {data});
}

key32 hash2(hash_kind h, const_byte_span a, const_byte_span b) {
  return digest(h, {a, b});
}

key32 hmac(hash_kind h, const_byte_span key, const_byte_span data) {
  // RFC 2104: H((K ^ opad) || H((K ^ ipad) || data)), K zero-padded to the
  // block size (hashed first when longer).
  std::array<uint8_t, hmac_block_len> padded_key{};
  if (key.size() > hmac_block_len) {
    auto hashed = hash(h, key);
    std::memcpy(padded_key.data(), hashed.data(), hashed.size());
    secure_wipe(hashed.data(), hashed.size());
  } else if (!key.empty()) {
    std::memcpy(padded_key.data(), key.data(), key.size());
  }
  std::array<uint8_t, hmac_block_len> pad;
  for (size_t i = 0; i < pad.size(); ++i)
    pad[i] = padded_key[i] ^ 0x36;
  auto inner = digest(h, {pad, data});
  for (size_t i = 0; i < pad.size(); ++i)
    pad[i] = padded_key[i] ^ 0x5c;
  auto result = digest(h, {pad, inner});
  secure_wipe(padded_key.data(), padded_key.size());
  secure_wipe(pad.data(), pad.size());
  secure_wipe(inner.data(), inner.size());
  return result;
}

void hkdf(hash_kind h, const key32& chaining_key, const_byte_span ikm,
          key32& out1, key32& out2, key32* out3) {
  // Spec 4.3. `out1` may alias `chaining_key`: it is read only once, first.
  auto temp_key = hmac(h, chaining_key, ikm);
  const uint8_t one = 0x01;
  out1 = hmac(h, temp_key, const_byte_span{&one, 1});
  std::array<uint8_t, hash_len + 1> buf;
  std::memcpy(buf.data(), out1.data(), hash_len);
  buf[hash_len] = 0x02;
  out2 = hmac(h, temp_key, buf);
  if (out3 != nullptr) {
    std::memcpy(buf.data(), out2.data(), hash_len);
    buf[hash_len] = 0x03;
    *out3 = hmac(h, temp_key, buf);
  }
  secure_wipe(buf.data(), buf.size());
  secure_wipe(temp_key.data(), temp_key.size());
}

} // namespace crust::noise
