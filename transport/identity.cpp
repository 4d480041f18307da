#include "crust/transport/identity.hpp"

#include "crust/messages/hex.hpp"
#include "crust/transport/fd_guard.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <pwd.h>
#include <string_view>
#include <sys/stat.h>
#include <sys/types.h>
#include <system_error>
#include <unistd.h>

namespace crust {

namespace {

/// Larger key files are refused before they are read completely.
constexpr size_t max_key_file_size = 4096;

/// Wipes a string holding key material when it goes out of scope.
class wipe_guard {
public:
  explicit wipe_guard(std::string& str) noexcept : str_(str) {
    // nop
  }

  wipe_guard(const wipe_guard&) = delete;
  wipe_guard& operator=(const wipe_guard&) = delete;

  ~wipe_guard() {
    noise::secure_wipe(str_.data(), str_.size());
  }

private:
  std::string& str_;
};

std::string errno_text(int err) {
  return std::generic_category().message(err);
}

failure io_error(std::string_view what, const std::string& path, int err) {
  std::string detail{what};
  detail += ' ';
  detail += path;
  detail += ": ";
  detail += errno_text(err);
  return {errc::key_file_io, std::move(detail)};
}

std::string octal_mode(mode_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

/// Decodes the key file content. The detail never echoes key characters.
expected<noise::key32> decode_key(const std::string& path,
                                  std::string_view content) {
  while (!content.empty()
         && (content.back() == '\n' || content.back() == '\r'
             || content.back() == ' ' || content.back() == '\t'))
    content.remove_suffix(1);
  if (content.size() != 2 * noise::key_len)
    return {errc::key_file_malformed,
            path + ": expected 64 hex characters (an X25519 private key), got "
              + std::to_string(content.size())};
  noise::key32 key{};
  for (size_t i = 0; i < content.size(); ++i) {
    auto value = hex::value(content[i]);
    if (value < 0) {
      noise::secure_wipe(key.data(), key.size());
      return {errc::key_file_malformed,
              path + ": invalid character at position " + std::to_string(i)
                + " (expected hex digits)"};
    }
    key[i / 2] = static_cast<uint8_t>((key[i / 2] << 4) | value);
  }
  return key;
}

/// Reads and checks an open key file.
expected<node_identity> load_fd(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return io_error("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode))
    return failure{errc::key_file_io, path + " is not a regular file"};
  if ((st.st_mode & 077) != 0) {
    auto mode = octal_mode(st.st_mode);
    return failure{errc::key_file_permissions,
                   path + " has mode " + mode + "; run chmod 600 " + path};
  }
  std::string content;
  wipe_guard wipe{content};
  content.reserve(max_key_file_size + 1);
  char buf[512];
  for (;;) {
    auto n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      auto err = errno;
      noise::secure_wipe(buf, sizeof(buf));
      return io_error("cannot read", path, err);
    }
    if (n == 0)
      break;
    content.append(buf, static_cast<size_t>(n));
    if (content.size() > max_key_file_size) {
      noise::secure_wipe(buf, sizeof(buf));
      return failure{errc::key_file_malformed,
                     path + ": larger than " + std::to_string(max_key_file_size)
                       + " bytes; expected 64 hex characters (an X25519 "
                         "private key)"};
    }
  }
  noise::secure_wipe(buf, sizeof(buf));
  auto key = decode_key(path, content);
  if (!key)
    return key.error();
  auto result = node_identity::from_private(*key);
  noise::secure_wipe(key->data(), key->size());
  return result;
}

/// The directory part of `path` ("." if there is none).
std::string parent_of(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos)
    return ".";
  if (pos == 0)
    return "/";
  return path.substr(0, pos);
}

/// mkdir -p with mode 0700 for the directories it creates.
status make_parents(const std::string& path) {
  for (auto pos = path.find('/', 1); pos != std::string::npos;
       pos = path.find('/', pos + 1)) {
    auto dir = path.substr(0, pos);
    if (dir.empty() || dir.back() == '/')
      continue;
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return io_error("cannot create directory", dir, errno);
  }
  return {};
}

/// Best effort: makes a rename or link in `dir` durable.
void sync_dir(const std::string& dir) {
  fd_guard fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (fd.get() >= 0)
    ::fsync(fd.get());
}

/// Writes `id`'s private key to a fresh temporary file next to `path`.
/// Returns the temporary file's name.
expected<std::string> write_temp(const std::string& path,
                                 const node_identity& id) {
  std::string content;
  wipe_guard wipe{content};
  content.reserve(2 * noise::key_len + 1);
  hex::append(content, id.keys().priv.data(), id.keys().priv.size());
  content += '\n';
  for (int attempt = 0; attempt < 8; ++attempt) {
    uint8_t nonce[4];
    if (auto st = noise::random_bytes(nonce, sizeof(nonce)); !st)
      return st.error();
    std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-";
    hex::append(tmp, nonce, sizeof(nonce));
    fd_guard fd{::open(
      tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)};
    if (fd.get() < 0) {
      if (errno == EEXIST)
        continue;
      return io_error("cannot create", tmp, errno);
    }
    // The umask may only have removed bits; make sure of exactly 0600.
    if (::fchmod(fd.get(), 0600) != 0
        || !write_all(fd.get(), content.data(), content.size())
        || ::fsync(fd.get()) != 0 || fd.close() != 0) {
      auto err = errno;
      ::unlink(tmp.c_str());
      return io_error("cannot write", tmp, err);
    }
    return tmp;
  }
  return failure{errc::key_file_io,
                 "cannot create a temporary file next to " + path};
}

/// Creates the key file at `path` with a fresh identity. Never replaces an
/// existing file: if one appears meanwhile, it is loaded instead.
expected<node_identity> create(const std::string& path) {
  if (auto st = make_parents(path); !st)
    return st.error();
  auto id = node_identity::generate();
  if (!id)
    return id;
  auto tmp = write_temp(path, *id);
  if (!tmp)
    return tmp.error();
  // link() fails with EEXIST instead of replacing, unlike rename().
  if (::link(tmp->c_str(), path.c_str()) == 0) {
    ::unlink(tmp->c_str());
    sync_dir(parent_of(path));
    return id;
  }
  auto err = errno;
  if (err == EEXIST) {
    ::unlink(tmp->c_str());
    return node_identity::load(path);
  }
  if (err == EPERM || err == ENOTSUP || err == ENOSYS || err == EMLINK) {
    // A file system without hard links: rename instead.
    if (::rename(tmp->c_str(), path.c_str()) == 0) {
      sync_dir(parent_of(path));
      return id;
    }
    err = errno;
  }
  ::unlink(tmp->c_str());
  return io_error("cannot create", path, err);
}

} // namespace

expected<node_identity> node_identity::generate() {
  auto keys = noise::keypair::generate();
  if (!keys)
    return keys.error();
  return node_identity{*keys};
}

expected<node_identity> node_identity::from_private(const noise::key32& priv) {
  auto keys = noise::keypair::from_private(priv);
  if (!keys)
    return keys.error();
  return node_identity{*keys};
}

expected<node_identity> node_identity::load(const std::string& path) {
  if (path.empty())
    return failure{errc::key_file_io, "empty key file path"};
  fd_guard fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY)};
  if (fd.get() < 0)
    return io_error("cannot open", path, errno);
  return load_fd(fd.get(), path);
}

expected<node_identity> node_identity::load_or_create(const std::string& path) {
  if (path.empty())
    return failure{errc::key_file_io, "empty key file path"};
  fd_guard fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY)};
  if (fd.get() >= 0)
    return load_fd(fd.get(), path);
  if (errno != ENOENT)
    return io_error("cannot open", path, errno);
  return create(path);
}

expected<std::string> default_key_path() {
  const char* suffix = "/crust/node.key";
  if (auto xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && xdg[0] == '/')
    return std::string{xdg} + suffix;
  std::string home;
  if (auto env = std::getenv("HOME"); env != nullptr && env[0] != '\0') {
    home = env;
  } else {
    struct passwd pwd {};
    struct passwd* found = nullptr;
    char buf[4096];
    if (::getpwuid_r(::geteuid(), &pwd, buf, sizeof(buf), &found) == 0
        && found != nullptr && found->pw_dir != nullptr)
      home = found->pw_dir;
  }
  if (home.empty())
    return failure{errc::key_file_io,
                   "no home directory (set HOME or XDG_DATA_HOME, or pass "
                   "--crust.key-file)"};
  if (home.back() == '/')
    home.pop_back();
  return home + "/.local/share" + suffix;
}

} // namespace crust
