#include "raw_aead.hpp"

#include <array>
#include <openssl/evp.h>
#include <stdexcept>

namespace crust::bench {

namespace {

EVP_CIPHER_CTX* ctx(void* ptr) {
  return static_cast<EVP_CIPHER_CTX*>(ptr);
}

std::array<uint8_t, 12> make_iv(uint64_t nonce) {
  std::array<uint8_t, 12> iv{};
  for (int i = 0; i < 8; ++i)
    iv[4 + i] = static_cast<uint8_t>(nonce >> (8 * i));
  return iv;
}

} // namespace

raw_aead::raw_aead() : enc_(EVP_CIPHER_CTX_new()), dec_(EVP_CIPHER_CTX_new()) {
  std::array<uint8_t, 32> key{};
  key.fill(0x42);
  auto* cipher = EVP_chacha20_poly1305();
  if (!enc_ || !dec_
      || EVP_EncryptInit_ex(ctx(enc_), cipher, nullptr, key.data(), nullptr)
           != 1
      || EVP_DecryptInit_ex(ctx(dec_), cipher, nullptr, key.data(), nullptr)
           != 1)
    throw std::runtime_error("raw_aead: OpenSSL initialisation failed");
}

raw_aead::~raw_aead() {
  EVP_CIPHER_CTX_free(ctx(enc_));
  EVP_CIPHER_CTX_free(ctx(dec_));
}

size_t raw_aead::seal(uint8_t* buf, size_t size, uint64_t nonce) {
  auto iv = make_iv(nonce);
  int len = 0;
  EVP_EncryptInit_ex(ctx(enc_), nullptr, nullptr, nullptr, iv.data());
  EVP_EncryptUpdate(ctx(enc_), buf, &len, buf, static_cast<int>(size));
  EVP_EncryptFinal_ex(ctx(enc_), buf + len, &len);
  EVP_CIPHER_CTX_ctrl(ctx(enc_), EVP_CTRL_AEAD_GET_TAG, 16, buf + size);
  return size + 16;
}

bool raw_aead::open(uint8_t* buf, size_t size, uint64_t nonce) {
  auto iv = make_iv(nonce);
  int len = 0;
  auto body = static_cast<int>(size - 16);
  EVP_DecryptInit_ex(ctx(dec_), nullptr, nullptr, nullptr, iv.data());
  EVP_DecryptUpdate(ctx(dec_), buf, &len, buf, body);
  EVP_CIPHER_CTX_ctrl(ctx(dec_), EVP_CTRL_AEAD_SET_TAG, 16, buf + body);
  return EVP_DecryptFinal_ex(ctx(dec_), buf + len, &len) == 1;
}

} // namespace crust::bench
