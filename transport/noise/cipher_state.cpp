#include "crust/transport/noise/cipher_state.hpp"

#include "crust/transport/noise/aead_context.hpp"

#include <cstring>
#include <functional>
#include <new>

namespace crust::noise {

namespace {

failure exhausted() {
  return failure{errc::nonce_exhausted,
                 "nonce 2^64-1 reached; this session must be re-established "
                 "with a new handshake"};
}

/// True when `x` points into the storage of `buf`, which a resize of `buf`
/// could move.
bool inside(const byte_buffer& buf, const_byte_span x) {
  if (x.empty() || buf.capacity() == 0)
    return false;
  std::less<> less;
  return !less(x.data(), buf.data())
         && less(x.data(), buf.data() + buf.capacity());
}

} // namespace

/// The OpenSSL context keyed with k_. Built lazily on first use so that
/// initialize_key() can stay noexcept and report nothing.
struct cipher_state::impl {
  aead_context aead;
};

cipher_state::cipher_state() noexcept = default;

cipher_state::cipher_state(cipher_kind cipher) noexcept : cipher_(cipher) {
  // nop
}

cipher_state::cipher_state(cipher_state&& other) noexcept
  : cipher_(other.cipher_), has_key_(other.has_key_), n_(other.n_),
    k_(other.k_), impl_(std::move(other.impl_)) {
  other.clear();
}

cipher_state& cipher_state::operator=(cipher_state&& other) noexcept {
  if (this != &other) {
    clear();
    cipher_ = other.cipher_;
    has_key_ = other.has_key_;
    n_ = other.n_;
    k_ = other.k_;
    impl_ = std::move(other.impl_);
    other.clear();
  }
  return *this;
}

cipher_state::~cipher_state() {
  secure_wipe(k_.data(), k_.size());
}

void cipher_state::initialize_key(const key32& k) noexcept {
  k_ = k;
  has_key_ = true;
  n_ = 0;
  if (impl_)
    impl_->aead.reset(); // re-keyed on next use
}

void cipher_state::clear() noexcept {
  secure_wipe(k_.data(), k_.size());
  has_key_ = false;
  n_ = 0;
  if (impl_)
    impl_->aead.reset();
}

status cipher_state::encrypt_with_ad(const_byte_span ad,
                                     const_byte_span plaintext,
                                     byte_buffer& out) {
  if (!has_key_) {
    out.insert(out.end(), plaintext.begin(), plaintext.end());
    return {};
  }
  if (n_ == max_nonce)
    return exhausted();
  if (inside(out, ad) || inside(out, plaintext)) {
    // Growing `out` could move the input: work on copies.
    auto ad_copy = ad.to_buffer();
    auto in_copy = plaintext.to_buffer();
    return encrypt_with_ad(ad_copy, in_copy, out);
  }
  auto old_size = out.size();
  out.resize(old_size + plaintext.size() + tag_len);
  if (auto st = seal_at(n_, ad, plaintext, out.data() + old_size); !st) {
    out.resize(old_size);
    return st;
  }
  ++n_;
  return {};
}

status cipher_state::decrypt_with_ad(const_byte_span ad,
                                     const_byte_span ciphertext,
                                     byte_buffer& out) {
  if (!has_key_) {
    out.insert(out.end(), ciphertext.begin(), ciphertext.end());
    return {};
  }
  if (n_ == max_nonce)
    return exhausted();
  if (inside(out, ad) || inside(out, ciphertext)) {
    // Growing `out` could move the input: work on copies.
    auto ad_copy = ad.to_buffer();
    auto in_copy = ciphertext.to_buffer();
    return decrypt_with_ad(ad_copy, in_copy, out);
  }
  if (ciphertext.size() < tag_len)
    return failure{errc::decrypt_failed, "ciphertext shorter than the tag"};
  auto old_size = out.size();
  out.resize(old_size + ciphertext.size() - tag_len);
  if (auto st = open_at(n_, ad, ciphertext, out.data() + old_size); !st) {
    // open_at already wiped the unauthenticated bytes.
    out.resize(old_size);
    return st;
  }
  ++n_;
  return {};
}

status cipher_state::seal(const_byte_span ad, const_byte_span plaintext,
                          uint8_t* out) {
  if (!has_key_) {
    if (!plaintext.empty())
      std::memmove(out, plaintext.data(), plaintext.size());
    return {};
  }
  if (n_ == max_nonce)
    return exhausted();
  if (auto st = seal_at(n_, ad, plaintext, out); !st)
    return st;
  ++n_;
  return {};
}

status cipher_state::open(const_byte_span ad, const_byte_span ciphertext,
                          uint8_t* out) {
  if (!has_key_) {
    if (!ciphertext.empty())
      std::memmove(out, ciphertext.data(), ciphertext.size());
    return {};
  }
  if (n_ == max_nonce)
    return exhausted();
  if (auto st = open_at(n_, ad, ciphertext, out); !st)
    return st;
  ++n_;
  return {};
}

status cipher_state::seal(const_byte_span ad, const_byte_span head,
                          const_byte_span plaintext, uint8_t* out) {
  if (!has_key_) {
    if (!head.empty())
      std::memmove(out, head.data(), head.size());
    if (!plaintext.empty())
      std::memmove(out + head.size(), plaintext.data(), plaintext.size());
    return {};
  }
  if (n_ == max_nonce)
    return exhausted();
  status st;
  auto* ctx = keyed_impl(st);
  if (ctx == nullptr)
    return st;
  if (st = ctx->aead.seal(n_, ad, head, plaintext, out); !st)
    return st;
  ++n_;
  return {};
}

status cipher_state::open(const_byte_span ad, const_byte_span ciphertext,
                          uint8_t* head, size_t head_len, uint8_t* out) {
  if (!has_key_) {
    if (ciphertext.size() < head_len)
      return failure{errc::decrypt_failed, "ciphertext shorter than its head"};
    if (head_len > 0)
      std::memmove(head, ciphertext.data(), head_len);
    if (ciphertext.size() > head_len)
      std::memmove(out, ciphertext.data() + head_len,
                   ciphertext.size() - head_len);
    return {};
  }
  if (n_ == max_nonce)
    return exhausted();
  status st;
  auto* ctx = keyed_impl(st);
  if (ctx == nullptr)
    return st;
  if (st = ctx->aead.open(n_, ad, ciphertext, head, head_len, out); !st)
    return st;
  ++n_;
  return {};
}

status cipher_state::seal_at(uint64_t n, const_byte_span ad,
                             const_byte_span plaintext, uint8_t* out) {
  if (!has_key_) {
    if (!plaintext.empty())
      std::memmove(out, plaintext.data(), plaintext.size());
    return {};
  }
  if (n == max_nonce)
    return exhausted();
  status st;
  auto* ctx = keyed_impl(st);
  if (ctx == nullptr)
    return st;
  return ctx->aead.seal(n, ad, plaintext, out);
}

status cipher_state::open_at(uint64_t n, const_byte_span ad,
                             const_byte_span ciphertext, uint8_t* out) {
  if (!has_key_) {
    if (!ciphertext.empty())
      std::memmove(out, ciphertext.data(), ciphertext.size());
    return {};
  }
  if (n == max_nonce)
    return exhausted();
  status st;
  auto* ctx = keyed_impl(st);
  if (ctx == nullptr)
    return st;
  return ctx->aead.open(n, ad, ciphertext, out);
}

status cipher_state::rekey() {
  if (!has_key_)
    return failure{errc::handshake_incomplete, "rekey without a key"};
  status st;
  auto* ctx = keyed_impl(st);
  if (ctx == nullptr)
    return st;
  // REKEY(k) = ENCRYPT(k, 2^64-1, zerolen, zeros)[0:32] (spec 4.2, 11.3).
  std::array<uint8_t, key_len + tag_len> buf{};
  if (st = ctx->aead.seal(max_nonce, {}, const_byte_span{buf.data(), key_len},
                          buf.data());
      !st) {
    secure_wipe(buf.data(), buf.size());
    return st;
  }
  std::memcpy(k_.data(), buf.data(), key_len);
  secure_wipe(buf.data(), buf.size());
  // n stays as it is (spec 11.3); only the key schedule changes.
  if (st = ctx->aead.init(cipher_, k_); !st) {
    // The old key is gone and the new one unusable: drop both.
    clear();
    return st;
  }
  return {};
}

cipher_state::impl* cipher_state::keyed_impl(status& st) noexcept {
  if (!impl_) {
    impl_.reset(new (std::nothrow) impl);
    if (!impl_) {
      st = failure{errc::crypto_failure, "out of memory for the AEAD context"};
      return nullptr;
    }
  }
  if (!impl_->aead.ready()) {
    if (st = impl_->aead.init(cipher_, k_); !st)
      return nullptr;
  }
  return impl_.get();
}

} // namespace crust::noise
