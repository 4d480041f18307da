#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <unistd.h>

namespace crust {

/// Writes all `size` bytes at `data` to `fd`, retrying after signals and
/// short writes; false on any other error (errno tells which).
inline bool write_all(int fd, const void* data, size_t size) {
  const auto* pos = static_cast<const uint8_t*>(data);
  while (size > 0) {
    auto n = ::write(fd, pos, size);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    pos += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

/// Owns a POSIX file descriptor and closes it when it goes out of scope.
class fd_guard {
public:
  explicit fd_guard(int fd) noexcept : fd_(fd) {
    // nop
  }

  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;

  ~fd_guard() {
    if (fd_ >= 0)
      ::close(fd_);
  }

  int get() const noexcept {
    return fd_;
  }

  /// Closes now and reports the result: 0, or -1 with errno set (errors of
  /// delayed writes show here, so callers that wrote must look at it).
  int close() noexcept {
    auto fd = fd_;
    fd_ = -1;
    return ::close(fd);
  }

private:
  int fd_;
};

} // namespace crust
