#pragma once

// What the libFuzzer targets in this folder share: the invariant trap, the
// input reader, fixed keys and the seed-corpus writer. Header-only; the
// targets link only crust_engines.

#include "crust/transport/byte_span.hpp"
#include "crust/transport/noise/cipher_state.hpp"
#include "crust/transport/noise/primitives.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>

namespace crust::fuzz {

/// Stops the run on a broken invariant (a crash libFuzzer reports).
inline void require(bool cond) {
  if (!cond)
    __builtin_trap();
}

/// Reads the input front to back; past the end it yields zeros.
struct reader {
  const uint8_t* data;
  size_t size;
  size_t pos = 0;

  bool empty() const {
    return pos >= size;
  }

  uint8_t u8() {
    return pos < size ? data[pos++] : 0;
  }

  size_t u16() {
    size_t hi = u8();
    return (hi << 8) | u8();
  }

  uint64_t u64() {
    uint64_t x = 0;
    for (int i = 0; i < 8; ++i)
      x = (x << 8) | u8();
    return x;
  }

  const_byte_span take(size_t n) {
    auto avail = size - pos < n ? size - pos : n;
    const_byte_span out{data + pos, avail};
    pos += avail;
    return out;
  }
};

/// A key of 32 bytes `x`.
inline noise::key32 filled(uint8_t x) {
  noise::key32 k;
  k.fill(x);
  return k;
}

/// The key pair of the private key `filled(x)`, computed once per `x`, so
/// that runs are reproducible and seeds can carry genuine messages.
inline const noise::keypair& fixed_pair(uint8_t x) {
  static std::map<uint8_t, noise::keypair> cache;
  auto i = cache.find(x);
  if (i == cache.end()) {
    auto kp = noise::keypair::from_private(filled(x));
    require(static_cast<bool>(kp));
    i = cache.emplace(x, std::move(*kp)).first;
  }
  return i->second;
}

/// A transport cipher keyed with `filled(x)`, at nonce 0.
inline noise::cipher_state fixed_cipher(noise::cipher_kind kind, uint8_t x) {
  noise::cipher_state cs{kind};
  cs.initialize_key(filled(x));
  return cs;
}

/// Appends a record: a 2-byte big-endian length, then `bytes`.
inline void append_record(byte_buffer& out, const_byte_span bytes) {
  out.push_back(static_cast<uint8_t>(bytes.size() >> 8));
  out.push_back(static_cast<uint8_t>(bytes.size()));
  out.insert(out.end(), bytes.begin(), bytes.end());
}

/// Writes one seed file, `dir`/`name`.
inline void write_file(const std::string& dir, const std::string& name,
                       const byte_buffer& bytes) {
  auto path = dir + "/" + name;
  auto* f = std::fopen(path.c_str(), "wb");
  require(f != nullptr);
  require(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
  std::fclose(f);
}

/// For LLVMFuzzerInitialize: with CRUST_FUZZ_WRITE_SEEDS=<dir> in the
/// environment, `write_seeds(dir)` writes the seed corpus into <dir> before
/// fuzzing starts. Returns 0, libFuzzer's "carry on".
template<class WriteSeeds>
int write_seeds_if_asked(WriteSeeds&& write_seeds) {
  if (const char* dir = std::getenv("CRUST_FUZZ_WRITE_SEEDS"))
    write_seeds(std::string{dir});
  return 0;
}

} // namespace crust::fuzz
