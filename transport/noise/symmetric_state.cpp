#include "crust/transport/noise/symmetric_state.hpp"

#include <algorithm>

namespace crust::noise {

symmetric_state::symmetric_state(suite algorithms,
                                 std::string_view protocol_name)
  : suite_(algorithms), cipher_(algorithms.cipher) {
  const_byte_span name{reinterpret_cast<const uint8_t*>(protocol_name.data()),
                       protocol_name.size()};
  if (name.size() <= hash_len)
    std::copy(name.begin(), name.end(), h_.begin()); // rest stays zero
  else
    h_ = hash(suite_.hash, name);
  ck_ = h_;
}

symmetric_state::~symmetric_state() {
  wipe();
}

void symmetric_state::mix_key(const_byte_span input_key_material) {
  key32 temp_k;
  hkdf(suite_.hash, ck_, input_key_material, ck_, temp_k);
  cipher_.initialize_key(temp_k);
  secure_wipe(temp_k.data(), temp_k.size());
}

void symmetric_state::mix_hash(const_byte_span data) {
  h_ = hash2(suite_.hash, h_, data);
}

void symmetric_state::mix_key_and_hash(const_byte_span input_key_material) {
  key32 temp_h;
  key32 temp_k;
  hkdf(suite_.hash, ck_, input_key_material, ck_, temp_h, &temp_k);
  mix_hash(temp_h);
  cipher_.initialize_key(temp_k);
  secure_wipe(temp_h.data(), temp_h.size());
  secure_wipe(temp_k.data(), temp_k.size());
}

status symmetric_state::encrypt_and_hash(const_byte_span plaintext,
                                         byte_buffer& out) {
  auto offset = out.size();
  if (auto st = cipher_.encrypt_with_ad(h_, plaintext, out); !st)
    return st;
  mix_hash(const_byte_span{out}.subspan(offset));
  return {};
}

status symmetric_state::decrypt_and_hash(const_byte_span ciphertext,
                                         byte_buffer& out) {
  if (auto st = cipher_.decrypt_with_ad(h_, ciphertext, out); !st)
    return st;
  mix_hash(ciphertext);
  return {};
}

void symmetric_state::split(cipher_state& c1, cipher_state& c2) {
  key32 temp_k1;
  key32 temp_k2;
  hkdf(suite_.hash, ck_, {}, temp_k1, temp_k2);
  c1 = cipher_state{suite_.cipher};
  c1.initialize_key(temp_k1);
  c2 = cipher_state{suite_.cipher};
  c2.initialize_key(temp_k2);
  secure_wipe(temp_k1.data(), temp_k1.size());
  secure_wipe(temp_k2.data(), temp_k2.size());
}

void symmetric_state::wipe() noexcept {
  secure_wipe(ck_.data(), ck_.size());
  cipher_.clear();
}

} // namespace crust::noise
