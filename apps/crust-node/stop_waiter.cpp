#include "stop_waiter.hpp"

#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <system_error>
#include <unistd.h>

namespace crust_node {

namespace {

/// Trims spaces, tabs and a carriage return at both ends.
std::string trim(const std::string& line) {
  auto first = line.find_first_not_of(" \t\r");
  if (first == std::string::npos)
    return {};
  auto last = line.find_last_not_of(" \t\r");
  return line.substr(first, last - first + 1);
}

} // namespace

crust::expected<stop_waiter> stop_waiter::make() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
    return crust::failure{crust::errc::socket_failure,
                          "cannot create a pipe: "
                            + std::generic_category().message(errno)};
  return stop_waiter{fds[0], fds[1]};
}

stop_waiter::stop_waiter(int read_fd, int write_fd) noexcept
  : read_fd_(read_fd), write_fd_(write_fd) {
  // nop
}

stop_waiter::stop_waiter(stop_waiter&& other) noexcept
  : read_fd_(other.read_fd_), write_fd_(other.write_fd_) {
  other.read_fd_ = -1;
  other.write_fd_ = -1;
}

stop_waiter::~stop_waiter() {
  if (read_fd_ >= 0)
    ::close(read_fd_);
  if (write_fd_ >= 0)
    ::close(write_fd_);
}

void stop_waiter::notify() noexcept {
  char byte = 's';
  // A full pipe already holds a wake-up: nothing is lost if this fails.
  [[maybe_unused]] auto n = ::write(write_fd_, &byte, 1);
}

std::string stop_waiter::wait() {
  std::string pending;
  for (;;) {
    pollfd fds[2] = {{read_fd_, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      return "poll failed: " + std::generic_category().message(errno);
    }
    if (fds[0].revents != 0)
      return "signal";
    if (fds[1].revents == 0)
      continue;
    if ((fds[1].revents & POLLNVAL) != 0)
      return "end of input"; // stdin is closed
    char buf[512];
    auto n = ::read(STDIN_FILENO, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN)
        continue;
      return "end of input"; // unreadable stdin counts as its end
    }
    if (n == 0)
      return "end of input";
    pending.append(buf, static_cast<size_t>(n));
    for (auto pos = pending.find('\n'); pos != std::string::npos;
         pos = pending.find('\n')) {
      auto line = trim(pending.substr(0, pos));
      pending.erase(0, pos + 1);
      if (line == "quit")
        return "quit";
    }
  }
}

} // namespace crust_node
