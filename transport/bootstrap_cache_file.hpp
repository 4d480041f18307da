#pragma once

#include "crust/messages/expected.hpp"
#include "crust/transport/codec/bootstrap_cache.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace crust {

/// File name of the bootstrap cache in the node's data directory.
constexpr std::string_view bootstrap_cache_file_name = "bootstrap_cache.json";

/// The default cache path: `bootstrap_cache.json` in the directory of the
/// key file `key_file` (empty: of `default_key_path()`, so
/// `$XDG_DATA_HOME/crust/` or `~/.local/share/crust/`). Fails as
/// `default_key_path()`.
expected<std::string>
default_bootstrap_cache_path(const std::string& key_file = {});

/// What loading a cache file found.
struct bootstrap_cache_load {
  /// Most recent first, at most the requested capacity.
  std::vector<cache_entry> entries;

  /// Empty unless the file could not be used: why (the node then starts
  /// with an empty cache).
  std::string warning;

  /// Where an unusable file was moved to; empty if it was not moved.
  std::string set_aside_path;
};

/// Reads the cache file at `path`. A missing file is an empty cache. A
/// corrupt or truncated file yields a warning and is renamed to
/// `<path>.corrupt-<UTC timestamp>` (a counter is added if that exists)
/// so that the next save does not destroy the evidence; an unreadable one
/// (permissions) yields a warning and stays. Never fails: a node always
/// starts. `now` names the set-aside file.
bootstrap_cache_load
load_bootstrap_cache_file(const std::string& path, size_t capacity,
                          std::chrono::system_clock::time_point now);

/// Writes `entries` to `path` atomically: a temporary file in the same
/// directory, written and fsync'ed, renamed over `path`, then the directory
/// fsync'ed; a failure removes the temporary file and leaves any previous
/// file as it was. Creates the parent directory (mode 0700) if missing.
/// Fails with `errc::file_io` naming the step and the reason.
status save_bootstrap_cache_file(const std::string& path,
                                 const std::vector<cache_entry>& entries);

/// The name an unusable cache file is moved to at `now`:
/// `<path>.corrupt-YYYYMMDDTHHMMSSZ`.
std::string corrupt_cache_name(const std::string& path,
                               std::chrono::system_clock::time_point now);

} // namespace crust
