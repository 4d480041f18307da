#pragma once

#include <cstdint>
#include <map>
#include <netinet/in.h>
#include <string>

/// Small POSIX helpers of the namespace section's roles.
namespace crust::bench::netns {

/// Closes its descriptor.
struct fd_guard {
  int fd = -1;
  explicit fd_guard(int x) : fd(x) {
    // nop
  }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard();
};

/// Throws std::runtime_error("<what>: <strerror(errno)>") unless `ok`.
void check(bool ok, const char* what);

/// `address:port` (dotted quad); throws on a bad address.
sockaddr_in ipv4(const std::string& address, uint16_t port);

/// Waits up to `seconds` for `events` on `fd`; false on timeout.
bool wait_fd(int fd, short events, double seconds);

void set_nonblocking(int fd);

/// "Section.Name" -> value, from the two-line-per-section format of
/// /proc/net/snmp and /proc/net/netstat.
using proc_table = std::map<std::string, uint64_t>;

/// Parses that format; lines that do not pair up are skipped.
proc_table parse_proc_table(const std::string& text);

/// Reads and parses a file of that format (empty if unreadable).
proc_table read_proc_table(const char* path);

} // namespace crust::bench::netns
