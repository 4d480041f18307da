#include "node_binary.hpp"

#include <cstdlib>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace crust_swarm {

namespace {

std::string own_directory() {
  std::vector<char> buf(4096);
  auto n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0)
    return {};
  std::string path{buf.data(), static_cast<size_t>(n)};
  return path.substr(0, path.rfind('/'));
}

} // namespace

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)
         && ::access(path.c_str(), X_OK) == 0;
}

std::string default_node_binary() {
  if (auto dir = own_directory(); !dir.empty()) {
    for (const auto& candidate :
         {dir + "/crust-node", dir + "/../crust-node/crust-node",
          dir + "/../crust-node"})
      if (is_executable_file(candidate))
        return candidate;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "";
  size_t start = 0;
  while (start <= dirs.size()) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos)
      end = dirs.size();
    auto dir = dirs.substr(start, end - start);
    if (!dir.empty() && is_executable_file(dir + "/crust-node"))
      return dir + "/crust-node";
    start = end + 1;
  }
  return {};
}

} // namespace crust_swarm
