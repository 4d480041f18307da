#include "crust/transport/codec/bootstrap_cache.hpp"
#include "crust/transport/codec/bootstrap_cache_codec.hpp"

#include "support/engine_test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>
#include <vector>

using namespace crust;
using namespace std::chrono_literals;

namespace {

using time_point = bootstrap_cache::time_point;

/// A peer id whose bytes are all `n`.
peer_id pid(uint8_t n) {
  peer_id::bytes_type bytes{};
  bytes.fill(n);
  return peer_id{bytes};
}

endpoint ep(const std::string& text) {
  auto res = endpoint::parse(text);
  BOOST_REQUIRE_MESSAGE(res, text);
  return *res;
}

std::vector<endpoint> eps(std::initializer_list<const char*> texts) {
  std::vector<endpoint> out;
  for (auto text : texts)
    out.push_back(ep(text));
  return out;
}

/// A wall-clock instant `ms` milliseconds after the epoch (file precision).
time_point at_ms(int64_t ms) {
  return time_point{std::chrono::milliseconds{ms}};
}

std::vector<peer_id> ids_of(const std::vector<cache_entry>& entries) {
  std::vector<peer_id> out;
  for (const auto& entry : entries)
    out.push_back(entry.id);
  return out;
}

const time_point t0 = at_ms(1'700'000'000'000);

/// Expects `result` to fail as malformed with `part` in its detail.
void check_malformed(const std::string& text, const std::string& part) {
  auto result = decode_bootstrap_cache(text, 200);
  BOOST_REQUIRE_MESSAGE(!result, "decoded: " << text);
  BOOST_CHECK_EQUAL(result.error().code, errc::malformed_message);
  BOOST_CHECK_MESSAGE(result.error().detail.find(part) != std::string::npos,
                      '"' << result.error().detail << "\" lacks \"" << part
                          << '"');
}

std::string file_with(const std::string& peers) {
  return R"({"format": "crust-bootstrap-cache", "version": 1, "peers": )"
         + peers + "}";
}

const std::string hex1 = pid(1).to_hex();

} // namespace

BOOST_AUTO_TEST_SUITE(bootstrap_cache_model)

BOOST_AUTO_TEST_CASE(most_recent_first_and_capacity) {
  bootstrap_cache cache{3};
  for (uint8_t n = 1; n <= 4; ++n)
    BOOST_CHECK(cache.add(pid(n), eps({"192.0.2.1:1000"}), peer_origin::direct,
                          t0 + n * 1s));
  // The least recently seen (1) fell out.
  BOOST_CHECK_EQUAL(cache.size(), 3u);
  auto expected = std::vector<peer_id>{pid(4), pid(3), pid(2)};
  BOOST_CHECK(ids_of(cache.entries()) == expected);
  BOOST_CHECK(!cache.find(pid(1)));
  // Seeing 2 again makes it the most recent, with its new endpoints; the
  // next insertion then evicts 3.
  BOOST_CHECK(
    cache.add(pid(2), eps({"192.0.2.2:2000"}), peer_origin::direct, t0 + 10s));
  expected = {pid(2), pid(4), pid(3)};
  BOOST_CHECK(ids_of(cache.entries()) == expected);
  BOOST_CHECK(cache.find(pid(2))->endpoints == eps({"192.0.2.2:2000"}));
  BOOST_CHECK(cache.find(pid(2))->last_seen == t0 + 10s);
  cache.add(pid(5), eps({"192.0.2.5:1"}), peer_origin::direct, t0 + 11s);
  expected = {pid(5), pid(2), pid(4)};
  BOOST_CHECK(ids_of(cache.entries()) == expected);
}

BOOST_AUTO_TEST_CASE(default_capacity_is_200) {
  bootstrap_cache cache;
  BOOST_CHECK_EQUAL(cache.capacity(), 200u);
  for (int n = 0; n < 250; ++n) {
    peer_id::bytes_type bytes{};
    bytes[0] = static_cast<uint8_t>(n);
    bytes[1] = static_cast<uint8_t>(n >> 8);
    bytes[2] = 1;
    cache.add(peer_id{bytes}, eps({"10.0.0.1:9"}), peer_origin::direct,
              t0 + n * 1ms);
  }
  BOOST_CHECK_EQUAL(cache.size(), 200u);
  BOOST_CHECK_EQUAL(cache.entries().front().id.bytes()[0], 249);
}

BOOST_AUTO_TEST_CASE(only_direct_connections_enter) {
  bootstrap_cache cache;
  auto addr = eps({"192.0.2.1:1000"});
  BOOST_CHECK(!cache.add(pid(1), addr, peer_origin::hard_coded, t0));
  BOOST_CHECK(!cache.add(pid(2), addr, peer_origin::gossip, t0));
  BOOST_CHECK(!cache.add(pid(3), addr, peer_origin::relayed, t0));
  BOOST_CHECK(cache.empty());
  BOOST_CHECK(cache.add(pid(4), addr, peer_origin::direct, t0));
  // A gossiped contact never displaces or refreshes a direct entry.
  BOOST_CHECK(
    !cache.add(pid(4), eps({"198.51.100.1:1"}), peer_origin::gossip, t0 + 5s));
  BOOST_CHECK(cache.find(pid(4))->endpoints == addr);
  BOOST_CHECK_EQUAL(cache.size(), 1u);
}

BOOST_AUTO_TEST_CASE(unusable_entries_are_refused) {
  bootstrap_cache cache;
  BOOST_CHECK(
    !cache.add(peer_id{}, eps({"192.0.2.1:1"}), peer_origin::direct, t0));
  BOOST_CHECK(!cache.add(pid(1), {}, peer_origin::direct, t0));
  endpoint unspecified;
  unspecified.port = 9;
  BOOST_CHECK(!cache.add(pid(1), {unspecified}, peer_origin::direct, t0));
  // Duplicates and unusable endpoints are dropped, the rest kept in order.
  BOOST_CHECK(cache.add(pid(1),
                        {ep("192.0.2.1:1"), unspecified, ep("192.0.2.1:1"),
                         ep("udp://[2001:db8::1]:2")},
                        peer_origin::direct, t0));
  BOOST_CHECK(cache.find(pid(1))->endpoints
              == eps({"192.0.2.1:1", "udp://[2001:db8::1]:2"}));
  std::vector<endpoint> many;
  for (int n = 1; n <= 40; ++n)
    many.push_back(ep("10.0.0.1:" + std::to_string(n)));
  cache.add(pid(2), many, peer_origin::direct, t0);
  BOOST_CHECK_EQUAL(cache.find(pid(2))->endpoints.size(),
                    bootstrap_cache::max_endpoints);
  bootstrap_cache none{0};
  BOOST_CHECK(!none.add(pid(1), eps({"192.0.2.1:1"}), peer_origin::direct, t0));
}

BOOST_AUTO_TEST_CASE(removal) {
  bootstrap_cache cache;
  cache.add(pid(1), eps({"192.0.2.1:1"}), peer_origin::direct, t0);
  cache.add(pid(2), eps({"192.0.2.2:1"}), peer_origin::direct, t0 + 1s);
  BOOST_CHECK(cache.remove(pid(1)));
  BOOST_CHECK(!cache.remove(pid(1)));
  BOOST_CHECK(ids_of(cache.entries()) == std::vector<peer_id>{pid(2)});
  // The freed slot is reused without evicting anyone.
  bootstrap_cache small{2};
  small.add(pid(1), eps({"192.0.2.1:1"}), peer_origin::direct, t0);
  small.add(pid(2), eps({"192.0.2.2:1"}), peer_origin::direct, t0);
  small.remove(pid(1));
  small.add(pid(3), eps({"192.0.2.3:1"}), peer_origin::direct, t0);
  BOOST_CHECK(ids_of(small.entries())
              == (std::vector<peer_id>{pid(3), pid(2)}));
  small.clear();
  BOOST_CHECK(small.empty());
  BOOST_CHECK(!small.find(pid(3)));
}

BOOST_AUTO_TEST_CASE(stale_selection_and_revalidation) {
  bootstrap_cache cache;
  cache.add(pid(1), eps({"192.0.2.1:1"}), peer_origin::direct, t0);
  cache.add(pid(2), eps({"192.0.2.2:1"}), peer_origin::direct, t0 + 60s);
  cache.add(pid(3), eps({"192.0.2.3:1"}), peer_origin::direct, t0 + 100s);
  // At t0 + 119 s nobody has been unused for 120 s.
  BOOST_CHECK(cache.stale(t0 + 119s).empty());
  // Exactly 120 s counts as stale.
  BOOST_CHECK(ids_of(cache.stale(t0 + 120s)) == std::vector<peer_id>{pid(1)});
  BOOST_CHECK(ids_of(cache.stale(t0 + 200s))
              == (std::vector<peer_id>{pid(2), pid(1)}));
  BOOST_CHECK_EQUAL(cache.stale(t0 + 1000s).size(), 3u);
  BOOST_CHECK_EQUAL(cache.stale(t0 + 50s, 10s).size(), 1u);
  // A live answer makes the entry fresh and the most recent.
  BOOST_CHECK(cache.touch(pid(1), t0 + 200s));
  BOOST_CHECK(!cache.touch(pid(9), t0 + 200s));
  BOOST_CHECK(ids_of(cache.stale(t0 + 200s)) == std::vector<peer_id>{pid(2)});
  BOOST_CHECK(cache.entries().front().id == pid(1));
}

BOOST_AUTO_TEST_CASE(append_keeps_file_order) {
  bootstrap_cache cache{2};
  BOOST_CHECK(cache.append({pid(1), eps({"192.0.2.1:1"}), t0}));
  BOOST_CHECK(!cache.append({pid(1), eps({"192.0.2.1:1"}), t0}));
  BOOST_CHECK(!cache.append({pid(2), {}, t0}));
  BOOST_CHECK(cache.append({pid(3), eps({"192.0.2.3:1"}), t0}));
  BOOST_CHECK(!cache.append({pid(4), eps({"192.0.2.4:1"}), t0}));
  BOOST_CHECK(ids_of(cache.entries())
              == (std::vector<peer_id>{pid(1), pid(3)}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(bootstrap_cache_codec)

BOOST_AUTO_TEST_CASE(round_trip) {
  std::vector<cache_entry> entries{
    {pid(1), eps({"192.0.2.1:5483", "udp://[2001:db8::1]:5483"}), at_ms(5)},
    {pid(2), eps({"[::1]:1"}), at_ms(1'700'000'000'123)},
  };
  auto text = encode_bootstrap_cache(entries);
  BOOST_CHECK(text.back() == '\n');
  BOOST_CHECK(text.find("\"format\": \"crust-bootstrap-cache\"")
              != std::string::npos);
  auto back = decode_bootstrap_cache(text, 200);
  BOOST_REQUIRE(back);
  BOOST_CHECK(*back == entries);
  BOOST_CHECK_EQUAL(encode_bootstrap_cache(*back), text);
  auto empty = decode_bootstrap_cache(encode_bootstrap_cache({}), 200);
  BOOST_REQUIRE(empty);
  BOOST_CHECK(empty->empty());
}

BOOST_AUTO_TEST_CASE(keeps_the_most_recent_up_to_the_capacity) {
  std::vector<cache_entry> entries;
  for (uint8_t n = 1; n <= 5; ++n)
    entries.push_back({pid(n), eps({"192.0.2.1:1"}), at_ms(n)});
  auto back = decode_bootstrap_cache(encode_bootstrap_cache(entries), 3);
  BOOST_REQUIRE(back);
  BOOST_CHECK(ids_of(*back) == (std::vector<peer_id>{pid(1), pid(2), pid(3)}));
}

BOOST_AUTO_TEST_CASE(the_file_format_is_stable) {
  auto text = file_with(R"([{"peer": ")" + hex1
                        + R"(", "endpoints": ["192.0.2.1:5483"],)"
                          R"( "last_seen_ms": 1000}])");
  auto back = decode_bootstrap_cache(text, 200);
  BOOST_REQUIRE(back);
  BOOST_REQUIRE_EQUAL(back->size(), 1u);
  BOOST_CHECK((*back)[0].id == pid(1));
  BOOST_CHECK((*back)[0].endpoints == eps({"192.0.2.1:5483"}));
  BOOST_CHECK((*back)[0].last_seen == at_ms(1000));
}

BOOST_AUTO_TEST_CASE(corrupt_and_truncated_files_are_refused) {
  std::vector<cache_entry> entries{{pid(1), eps({"192.0.2.1:1"}), at_ms(5)}};
  auto text = encode_bootstrap_cache(entries);
  // Every proper prefix is refused: a truncated write never loads.
  for (size_t n = 0; n < text.size() - 1; ++n)
    BOOST_CHECK_MESSAGE(!decode_bootstrap_cache(text.substr(0, n), 200),
                        "prefix of " << n << " bytes decoded");
  check_malformed("", "not valid JSON");
  check_malformed("\x01\x02garbage", "not valid JSON");
  check_malformed("[]", "not a JSON object");
  check_malformed(R"({"format": "x", "version": 1, "peers": []})", "format");
  check_malformed(R"({"format": "crust-bootstrap-cache", "peers": []})",
                  "\"version\" is missing");
  check_malformed(R"({"format": "crust-bootstrap-cache", "version": 2,)"
                  R"( "peers": []})",
                  "unsupported version 2");
  check_malformed(file_with("{}"), "\"peers\" is not an array");
  check_malformed(file_with("[1]"), "peers[0] is not an object");
  auto entry = [](const std::string& peer, const std::string& endpoints,
                  const std::string& seen) {
    return file_with("[{\"peer\": " + peer + ", \"endpoints\": " + endpoints
                     + ", \"last_seen_ms\": " + seen + "}]");
  };
  auto good_peer = "\"" + hex1 + "\"";
  check_malformed(entry("1", R"(["192.0.2.1:1"])", "1"), "\"peer\"");
  check_malformed(entry("\"abc\"", R"(["192.0.2.1:1"])", "1"), "peers[0]");
  check_malformed(entry("\"" + peer_id{}.to_hex() + "\"", R"(["192.0.2.1:1"])",
                        "1"),
                  "zero peer id");
  check_malformed(entry(good_peer, "\"x\"", "1"), "\"endpoints\"");
  check_malformed(entry(good_peer, "[]", "1"), "no endpoints");
  check_malformed(entry(good_peer, "[7]", "1"), "endpoints[0]");
  check_malformed(entry(good_peer, R"(["example.com:1"])", "1"),
                  "endpoints[0]");
  check_malformed(entry(good_peer, R"(["0.0.0.0:1"])", "1"), "unspecified");
  check_malformed(entry(good_peer, R"(["1.2.3.4:1", "1.2.3.4:1"])", "1"),
                  "duplicate endpoint");
  check_malformed(entry(good_peer, R"(["1.2.3.4:1"])", "\"1\""),
                  "last_seen_ms");
  check_malformed(entry(good_peer, R"(["1.2.3.4:1"])", "-1"), "out of range");
  check_malformed(entry(good_peer, R"(["1.2.3.4:1"])", "18446744073709551615"),
                  "out of range");
  check_malformed(entry(good_peer, R"(["1.2.3.4:1"])", "1.5"), "last_seen_ms");
  std::string many = "[";
  for (int n = 1; n <= 33; ++n)
    many += (n > 1 ? ",\"10.0.0.1:" : "\"10.0.0.1:") + std::to_string(n) + "\"";
  many += "]";
  check_malformed(entry(good_peer, many, "1"), "more than 32 endpoints");
  std::vector<cache_entry> twice{{pid(1), eps({"192.0.2.1:1"}), at_ms(5)},
                                 {pid(1), eps({"192.0.2.2:1"}), at_ms(4)}};
  check_malformed(encode_bootstrap_cache(twice), "duplicate peer");
  check_malformed(std::string(max_bootstrap_cache_file_size + 1, ' '),
                  "larger than");
}

BOOST_AUTO_TEST_SUITE_END()
