// libFuzzer target: the bootstrap cache file codec and the in-memory cache
// (transport/codec/bootstrap_cache_codec, transport/codec/bootstrap_cache).
//
// Byte 0 selects the mode (modulo 2); the rest is the input:
//   0 file   `decode_bootstrap_cache` on the rest as text;
//   1 ops    the rest drives a small cache: each step is an operation byte
//            (add direct, add of another origin, touch, remove, stale) then
//            a peer byte and a time byte.
// Invariants (a broken one traps):
//   - a file decodes or fails with `malformed_message` and a detail; what
//     decodes has at most the requested entries, no duplicate peer, no zero
//     id, 1 to 32 endpoints each, and encodes to a file that decodes to the
//     same entries;
//   - the cache never exceeds its capacity, keeps no peer twice, holds only
//     peers added directly, lists the most recently used first, and its
//     entries survive a round trip through the file codec.
//
// To regenerate the seed corpus:
//   CRUST_FUZZ_WRITE_SEEDS=tests/fuzz/corpus/bootstrap_cache \
//     ./build/fuzz/tests/fuzz/bootstrap_cache_fuzz -runs=0

#include "crust/transport/codec/bootstrap_cache.hpp"
#include "crust/transport/codec/bootstrap_cache_codec.hpp"

#include "fuzz_support.hpp"

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

using namespace crust;
using namespace crust::fuzz;

namespace {

constexpr size_t max_entries = 8;

peer_id pid(uint8_t n) {
  peer_id::bytes_type bytes{};
  bytes.fill(static_cast<uint8_t>(n | 1)); // never zero
  return peer_id{bytes};
}

void check_entries(const std::vector<cache_entry>& entries) {
  std::set<peer_id> seen;
  for (const auto& e : entries) {
    require(!e.id.is_zero());
    require(seen.insert(e.id).second);
    require(!e.endpoints.empty());
    require(e.endpoints.size() <= bootstrap_cache::max_endpoints);
  }
}

void run_file(const_byte_span input) {
  std::string_view text{reinterpret_cast<const char*>(input.data()),
                        input.size()};
  auto entries = decode_bootstrap_cache(text, max_entries);
  if (!entries) {
    require(entries.error().code == errc::malformed_message);
    require(!entries.error().detail.empty());
    return;
  }
  require(entries->size() <= max_entries);
  check_entries(*entries);
  auto again = decode_bootstrap_cache(encode_bootstrap_cache(*entries),
                                      max_entries);
  require(again && *again == *entries);
}

void run_ops(reader& in) {
  bootstrap_cache cache{1 + in.u8() % max_entries};
  std::set<peer_id> direct;
  using time_point = bootstrap_cache::time_point;
  while (!in.empty()) {
    auto op = in.u8() % 5;
    auto id = pid(in.u8() % 16);
    auto t = time_point{std::chrono::seconds{in.u8()}};
    std::vector<endpoint> eps{*endpoint::parse("192.0.2.1:5483")};
    switch (op) {
      case 0:
        require(cache.add(id, eps, peer_origin::direct, t));
        direct.insert(id);
        require(cache.entries().front().id == id);
        break;
      case 1: {
        auto before = cache.entries();
        require(!cache.add(id, eps, peer_origin::gossip, t));
        require(cache.entries() == before);
        break;
      }
      case 2:
        if (cache.touch(id, t))
          require(cache.entries().front().id == id);
        break;
      case 3:
        cache.remove(id);
        require(!cache.find(id));
        break;
      default:
        for (const auto& e : cache.stale(t, std::chrono::seconds{in.u8()}))
          require(cache.find(e.id).has_value());
    }
    require(cache.size() <= cache.capacity());
    auto entries = cache.entries();
    check_entries(entries);
    for (const auto& e : entries)
      require(direct.count(e.id) != 0);
  }
  auto back = decode_bootstrap_cache(encode_bootstrap_cache(cache.entries()),
                                     max_entries);
  require(back && *back == cache.entries());
}

void write_seeds(const std::string& dir) {
  auto with_mode = [](uint8_t m, std::string_view rest) {
    byte_buffer out{m};
    out.insert(out.end(), rest.begin(), rest.end());
    return out;
  };
  std::vector<cache_entry> entries{
    {pid(1),
     {*endpoint::parse("192.0.2.1:5483"),
      *endpoint::parse("udp://[2001:db8::1]:5483")},
     bootstrap_cache::time_point{std::chrono::milliseconds{1700000000000}}},
    {pid(2), {*endpoint::parse("[::1]:1")}, bootstrap_cache::time_point{}},
  };
  auto text = encode_bootstrap_cache(entries);
  write_file(dir, "file_valid", with_mode(0, text));
  write_file(dir, "file_truncated", with_mode(0, text.substr(0, 40)));
  write_file(dir, "file_empty_peers", with_mode(0, encode_bootstrap_cache({})));
  write_file(dir, "file_not_json", with_mode(0, "{\"format\": [}"));
  byte_buffer ops{1, 3};
  for (uint8_t step = 0; step < 24; ++step) {
    ops.push_back(step % 5);
    ops.push_back(static_cast<uint8_t>(step * 7));
    ops.push_back(static_cast<uint8_t>(step * 11));
  }
  write_file(dir, "ops_mixed", ops);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  return write_seeds_if_asked(write_seeds);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  reader in{data, size};
  auto m = in.u8() % 2;
  auto rest = in.take(size);
  if (m == 0) {
    run_file(rest);
  } else {
    reader script{rest.data(), rest.size()};
    run_ops(script);
  }
  return 0;
}
