#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace crust {

/// Why `replace_file_atomically` failed: the step ("create a temporary file
/// for", "write", "sync", "close", "replace") and its errno.
struct file_write_error {
  const char* step;
  int code;
};

/// Replaces the file at `path` with `content` so that a crash leaves either
/// the old file or the new one, never a mix: a temporary file in the same
/// directory (mode 0600), written and fsync'ed, renamed over `path`, then
/// the directory fsync'ed (best effort). The temporary file is removed on
/// failure. The directory must exist.
std::optional<file_write_error>
replace_file_atomically(const std::string& path, std::string_view content);

} // namespace crust
