#pragma once

#include "crust/messages/expected.hpp"
#include "crust/transport/codec/bootstrap_cache.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

// The bootstrap cache file (docs/discovery.md, "Bootstrap cache file"):
//
//   {"format": "crust-bootstrap-cache", "version": 1,
//    "peers": [{"peer": "<64 hex>", "endpoints": ["192.0.2.1:5483", ...],
//               "last_seen_ms": <Unix milliseconds>}, ...]}
//
// Peers most recent first. No I/O here: transport/bootstrap_cache_file.hpp
// reads and writes the file.

namespace crust {

/// The "format" value of a bootstrap cache file.
constexpr std::string_view bootstrap_cache_format = "crust-bootstrap-cache";

/// The file version this build writes and the only one it reads.
constexpr int bootstrap_cache_version = 1;

/// Largest file `decode_bootstrap_cache` accepts, in bytes.
constexpr size_t max_bootstrap_cache_file_size = size_t{4} << 20;

/// The file content for `entries` (most recent first), ending in a newline.
std::string encode_bootstrap_cache(const std::vector<cache_entry>& entries);

/// Decodes a whole file, all or nothing. Fails with `errc::malformed_message`
/// and a detail naming the problem (not JSON, wrong format or version, a
/// field of the wrong type, a bad peer id or endpoint, a duplicate peer, more
/// than `bootstrap_cache::max_endpoints` endpoints, a file larger than
/// `max_bootstrap_cache_file_size`). An entry without endpoints is refused
/// too: it could never be dialled. At most `max_entries` entries are
/// returned (the most recent); the rest are ignored, not an error.
expected<std::vector<cache_entry>> decode_bootstrap_cache(std::string_view text,
                                                          size_t max_entries);

} // namespace crust
