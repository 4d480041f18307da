#include "crust/transport/local_addresses.hpp"

#include <algorithm>
#include <cstring>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace crust {

namespace {

bool is_link_local_v6(const ip_address& ip) {
  return ip.is_v6() && ip.data()[0] == 0xfe && (ip.data()[1] & 0xc0) == 0x80;
}

} // namespace

std::vector<ip_address> local_addresses(bool ipv6) {
  std::vector<ip_address> result;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0)
    return result;
  for (auto* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || (it->ifa_flags & IFF_UP) == 0)
      continue;
    if (it->ifa_addr->sa_family == AF_INET) {
      ip_address::v4_bytes bytes;
      const auto* sin = reinterpret_cast<const sockaddr_in*>(it->ifa_addr);
      std::memcpy(bytes.data(), &sin->sin_addr, bytes.size());
      result.push_back(ip_address::v4(bytes));
    } else if (ipv6 && it->ifa_addr->sa_family == AF_INET6) {
      ip_address::v6_bytes bytes;
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(it->ifa_addr);
      std::memcpy(bytes.data(), &sin6->sin6_addr, bytes.size());
      auto ip = ip_address::v6(bytes);
      if (!is_link_local_v6(ip))
        result.push_back(ip);
    }
  }
  freeifaddrs(list);
  std::sort(result.begin(), result.end());
  result.erase(std::unique(result.begin(), result.end()), result.end());
  // Loopback last: only useful to a peer on the same host.
  std::stable_partition(result.begin(), result.end(), [](const ip_address& ip) {
    return !ip.is_loopback();
  });
  return result;
}

} // namespace crust
