#include "netns_posix.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <unistd.h>
#include <vector>

namespace crust::bench::netns {

fd_guard::~fd_guard() {
  if (fd >= 0)
    ::close(fd);
}

void check(bool ok, const char* what) {
  if (!ok)
    throw std::runtime_error{std::string{what} + ": " + std::strerror(errno)};
}

sockaddr_in ipv4(const std::string& address, uint16_t port) {
  sockaddr_in out{};
  out.sin_family = AF_INET;
  out.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &out.sin_addr) != 1)
    throw std::runtime_error{"bad IPv4 address " + address};
  return out;
}

bool wait_fd(int fd, short events, double seconds) {
  pollfd p{fd, events, 0};
  auto ms = static_cast<int>(std::ceil(seconds * 1000));
  for (;;) {
    auto r = ::poll(&p, 1, ms < 0 ? 0 : ms);
    if (r < 0 && errno == EINTR)
      continue;
    return r > 0;
  }
}

void set_nonblocking(int fd) {
  auto flags = ::fcntl(fd, F_GETFL, 0);
  check(flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0, "fcntl");
}

proc_table parse_proc_table(const std::string& text) {
  proc_table out;
  std::istringstream in{text};
  std::string names;
  std::string values;
  auto words = [](const std::string& line) {
    std::vector<std::string> xs;
    std::istringstream s{line};
    for (std::string w; s >> w;)
      xs.push_back(w);
    return xs;
  };
  while (std::getline(in, names)) {
    if (!std::getline(in, values))
      break;
    auto ns = words(names);
    auto vs = words(values);
    if (ns.empty() || vs.size() != ns.size() || ns[0] != vs[0]
        || ns[0].back() != ':')
      continue;
    auto section = ns[0].substr(0, ns[0].size() - 1);
    for (size_t i = 1; i < ns.size(); ++i) {
      char* end = nullptr;
      errno = 0;
      auto v = std::strtoull(vs[i].c_str(), &end, 10);
      if (errno == 0 && end && *end == '\0' && vs[i][0] != '-')
        out[section + "." + ns[i]] = v;
    }
  }
  return out;
}

proc_table read_proc_table(const char* path) {
  std::ifstream f{path};
  if (!f)
    return {};
  std::ostringstream s;
  s << f.rdbuf();
  return parse_proc_table(s.str());
}

} // namespace crust::bench::netns
