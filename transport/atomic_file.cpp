#include "crust/transport/atomic_file.hpp"

#include "crust/transport/fd_guard.hpp"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <unistd.h>

namespace crust {

std::optional<file_write_error>
replace_file_atomically(const std::string& path, std::string_view content) {
  std::string tmp = path + ".tmp-XXXXXX";
  fd_guard fd{::mkostemp(tmp.data(), O_CLOEXEC)};
  if (fd.get() < 0)
    return file_write_error{"create a temporary file for", errno};
  auto fail = [&](const char* step) {
    auto err = errno;
    ::unlink(tmp.c_str());
    return file_write_error{step, err};
  };
  if (!write_all(fd.get(), content.data(), content.size()))
    return fail("write");
  if (::fsync(fd.get()) != 0)
    return fail("sync");
  if (fd.close() != 0)
    return fail("close");
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return fail("replace");
  // Best effort: make the rename itself durable.
  auto dir = std::filesystem::path{path}.parent_path();
  fd_guard dir_fd{::open(dir.empty() ? "." : dir.c_str(),
                         O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (dir_fd.get() >= 0)
    ::fsync(dir_fd.get());
  return std::nullopt;
}

} // namespace crust
