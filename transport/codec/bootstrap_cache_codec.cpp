#include "crust/transport/codec/bootstrap_cache_codec.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <unordered_set>
#include <utility>

namespace crust {

namespace {

using json = nlohmann::json;

/// Latest `last_seen_ms` accepted: year 2255, safely inside what
/// `system_clock` (nanoseconds in 64 bits) can count.
constexpr int64_t max_last_seen_ms = 9'000'000'000'000;

failure malformed(std::string detail) {
  return failure{errc::malformed_message,
                 "bootstrap cache: " + std::move(detail)};
}

int64_t unix_ms(cache_entry::time_point t) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

cache_entry::time_point from_unix_ms(int64_t ms) {
  return cache_entry::time_point{
    std::chrono::duration_cast<cache_entry::time_point::duration>(
      std::chrono::milliseconds{ms})};
}

/// Decodes one element of "peers"; `where` names it in errors.
expected<cache_entry> decode_entry(const json& x, const std::string& where) {
  if (!x.is_object())
    return malformed(where + " is not an object");
  cache_entry out;
  auto peer = x.find("peer");
  if (peer == x.end() || !peer->is_string())
    return malformed(where + ": \"peer\" is not a string");
  auto id = peer_id::parse(peer->get_ref<const std::string&>());
  if (!id)
    return malformed(where + ": " + id.error().message());
  if (id->is_zero())
    return malformed(where + ": the zero peer id names no node");
  out.id = *id;
  auto eps = x.find("endpoints");
  if (eps == x.end() || !eps->is_array())
    return malformed(where + ": \"endpoints\" is not an array");
  if (eps->empty())
    return malformed(where + ": no endpoints");
  if (eps->size() > bootstrap_cache::max_endpoints)
    return malformed(where + ": more than "
                     + std::to_string(bootstrap_cache::max_endpoints)
                     + " endpoints");
  for (size_t n = 0; n < eps->size(); ++n) {
    const auto& text = (*eps)[n];
    auto ep_where = where + ".endpoints[" + std::to_string(n) + "]";
    if (!text.is_string())
      return malformed(ep_where + " is not a string");
    auto ep = endpoint::parse(text.get_ref<const std::string&>());
    if (!ep)
      return malformed(ep_where + ": " + ep.error().message());
    if (ep->ip.is_unspecified())
      return malformed(ep_where + ": unspecified address");
    if (std::find(out.endpoints.begin(), out.endpoints.end(), *ep)
        != out.endpoints.end())
      return malformed(ep_where + ": duplicate endpoint");
    out.endpoints.push_back(*ep);
  }
  auto seen = x.find("last_seen_ms");
  if (seen == x.end() || !seen->is_number_integer())
    return malformed(where + ": \"last_seen_ms\" is not an integer");
  // Unsigned values above the signed range compare as unsigned first.
  if (seen->is_number_unsigned()
      && seen->get<uint64_t>() > static_cast<uint64_t>(max_last_seen_ms))
    return malformed(where + ": \"last_seen_ms\" is out of range");
  auto ms = seen->get<int64_t>();
  if (ms < 0 || ms > max_last_seen_ms)
    return malformed(where + ": \"last_seen_ms\" is out of range");
  out.last_seen = from_unix_ms(ms);
  return out;
}

} // namespace

std::string encode_bootstrap_cache(const std::vector<cache_entry>& entries) {
  json peers = json::array();
  for (const auto& entry : entries) {
    json eps = json::array();
    for (const auto& ep : entry.endpoints)
      eps.push_back(ep.to_string());
    json item = json::object();
    item["peer"] = entry.id.to_hex();
    item["endpoints"] = std::move(eps);
    item["last_seen_ms"] = unix_ms(entry.last_seen);
    peers.push_back(std::move(item));
  }
  json doc = json::object();
  doc["format"] = bootstrap_cache_format;
  doc["version"] = bootstrap_cache_version;
  doc["peers"] = std::move(peers);
  return doc.dump(2) + "\n";
}

expected<std::vector<cache_entry>> decode_bootstrap_cache(std::string_view text,
                                                          size_t max_entries) {
  if (text.size() > max_bootstrap_cache_file_size)
    return malformed("larger than "
                     + std::to_string(max_bootstrap_cache_file_size)
                     + " bytes");
  json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded())
    return malformed("not valid JSON (truncated or corrupt)");
  if (!doc.is_object())
    return malformed("not a JSON object");
  auto format = doc.find("format");
  if (format == doc.end() || !format->is_string()
      || format->get_ref<const std::string&>() != bootstrap_cache_format)
    return malformed(R"("format" is not "crust-bootstrap-cache")");
  auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer())
    return malformed("\"version\" is missing");
  if (version->is_number_unsigned()
        ? version->get<uint64_t>() != bootstrap_cache_version
        : version->get<int64_t>() != bootstrap_cache_version)
    return malformed("unsupported version " + version->dump());
  auto peers = doc.find("peers");
  if (peers == doc.end() || !peers->is_array())
    return malformed("\"peers\" is not an array");
  std::vector<cache_entry> out;
  std::unordered_set<peer_id> seen;
  for (size_t n = 0; n < peers->size(); ++n) {
    auto where = "peers[" + std::to_string(n) + "]";
    auto entry = decode_entry((*peers)[n], where);
    if (!entry)
      return entry.error();
    if (!seen.insert(entry->id).second)
      return malformed(where + ": duplicate peer " + entry->id.short_hex());
    if (out.size() < max_entries)
      out.push_back(std::move(*entry));
  }
  return out;
}

} // namespace crust
