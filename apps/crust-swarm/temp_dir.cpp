#include "temp_dir.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

namespace crust_swarm {

temp_dir::temp_dir(const std::string& prefix, std::string& error) {
  std::string base = "/tmp";
  if (auto env = std::getenv("TMPDIR"); env != nullptr && env[0] == '/')
    base = env;
  auto pattern = base + "/" + prefix + "XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    error = "cannot create a directory in " + base + ": "
            + std::strerror(errno);
    return;
  }
  path_ = buf.data();
}

temp_dir::~temp_dir() {
  if (path_.empty() || keep_)
    return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

} // namespace crust_swarm
