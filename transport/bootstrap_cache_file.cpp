#include "crust/transport/bootstrap_cache_file.hpp"

#include "crust/transport/atomic_file.hpp"
#include "crust/transport/codec/bootstrap_cache_codec.hpp"
#include "crust/transport/fd_guard.hpp"
#include "crust/transport/identity.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace crust {

namespace {

failure io_error(const std::string& what, const std::string& path, int err) {
  return failure{errc::file_io, "bootstrap cache " + path + ": cannot " + what
                                  + ": " + std::strerror(err)};
}

/// Reads the regular file at `path`; a file larger than the codec accepts
/// is read only up to one byte beyond, which the codec then refuses.
expected<std::string> read_small_file(const std::string& path, bool& missing) {
  missing = false;
  fd_guard fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.get() < 0) {
    missing = errno == ENOENT;
    return io_error("open", path, errno);
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0)
    return io_error("stat", path, errno);
  if (!S_ISREG(info.st_mode))
    return failure{errc::file_io,
                   "bootstrap cache " + path + ": not a regular file"};
  std::string out;
  char buf[8192];
  while (out.size() <= max_bootstrap_cache_file_size) {
    auto n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return io_error("read", path, errno);
    if (n == 0)
      break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

/// Renames `path` out of the way; returns the new name or empty.
std::string set_aside(const std::string& path,
                      std::chrono::system_clock::time_point now,
                      std::string& warning) {
  auto base = corrupt_cache_name(path, now);
  auto target = base;
  for (int n = 1; n < 100; ++n) {
    struct stat info {};
    if (::lstat(target.c_str(), &info) != 0 && errno == ENOENT)
      break;
    target = base + "-" + std::to_string(n);
  }
  if (::rename(path.c_str(), target.c_str()) != 0) {
    warning += "; could not move it aside: ";
    warning += std::strerror(errno);
    return {};
  }
  warning += "; moved to " + target;
  return target;
}

} // namespace

expected<std::string>
default_bootstrap_cache_path(const std::string& key_file) {
  std::string key = key_file;
  if (key.empty()) {
    auto path = default_key_path();
    if (!path)
      return path.error();
    key = std::move(*path);
  }
  auto dir = std::filesystem::path{key}.parent_path();
  return (dir / std::string{bootstrap_cache_file_name}).string();
}

std::string corrupt_cache_name(const std::string& path,
                               std::chrono::system_clock::time_point now) {
  auto t = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &utc);
  return path + ".corrupt-" + stamp;
}

bootstrap_cache_load
load_bootstrap_cache_file(const std::string& path, size_t capacity,
                          std::chrono::system_clock::time_point now) {
  bootstrap_cache_load out;
  bool missing = false;
  auto text = read_small_file(path, missing);
  if (!text) {
    if (!missing)
      out.warning = text.error().detail + "; starting with an empty cache";
    return out;
  }
  auto entries = decode_bootstrap_cache(*text, capacity);
  if (!entries) {
    out.warning = path + ": " + entries.error().detail
                  + "; starting with an empty cache";
    out.set_aside_path = set_aside(path, now, out.warning);
    return out;
  }
  out.entries = std::move(*entries);
  return out;
}

status save_bootstrap_cache_file(const std::string& path,
                                 const std::vector<cache_entry>& entries) {
  if (path.empty())
    return failure{errc::file_io, "bootstrap cache: empty file path"};
  auto dir = std::filesystem::path{path}.parent_path();
  if (!dir.empty()) {
    std::error_code ec;
    auto created = std::filesystem::create_directories(dir, ec);
    if (ec)
      return failure{errc::file_io,
                     "bootstrap cache " + path
                       + ": cannot create its directory: " + ec.message()};
    // Only a directory we just created gets our mode; an existing one stays.
    if (created)
      ::chmod(dir.c_str(), S_IRWXU);
  }
  auto content = encode_bootstrap_cache(entries);
  if (auto err = replace_file_atomically(path, content))
    return io_error(err->step, path, err->code);
  return {};
}

} // namespace crust
