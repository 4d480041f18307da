#include "stop_waiter.hpp"

#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <system_error>
#include <unistd.h>

namespace crust_node {

std::string to_string(stop_reason x) {
  switch (x) {
    case stop_reason::quit: return "quit";
    case stop_reason::quit_after_failure: return "quit after a failed command";
    case stop_reason::fatal: return "fatal error";
    case stop_reason::signal: return "signal";
  }
  return "unknown";
}

int exit_code(stop_reason x) noexcept {
  return x == stop_reason::quit || x == stop_reason::signal ? 0 : 1;
}

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

void stop_waiter::notify(stop_reason why) noexcept {
  auto byte = static_cast<char>(why);
  // A full pipe already holds a reason: nothing is lost if this fails.
  [[maybe_unused]] auto n = ::write(write_fd_, &byte, 1);
}

stop_reason stop_waiter::wait(const std::function<void(std::string)>& on_line,
                              const std::function<void()>& on_end) {
  bool reading = static_cast<bool>(on_line);
  std::string pending;
  auto end_of_input = [&] {
    if (!pending.empty())
      on_line(std::move(pending));
    pending.clear();
    reading = false;
    if (on_end)
      on_end();
  };
  for (;;) {
    pollfd fds[2] = {{read_fd_, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    if (::poll(fds, reading ? 2 : 1, -1) < 0) {
      if (errno == EINTR)
        continue;
      return stop_reason::fatal;
    }
    if (fds[0].revents != 0) {
      char byte = 0;
      if (::read(read_fd_, &byte, 1) == 1)
        return static_cast<stop_reason>(byte);
      continue;
    }
    if (!reading || fds[1].revents == 0)
      continue;
    if ((fds[1].revents & POLLNVAL) != 0) {
      end_of_input(); // stdin is closed
      continue;
    }
    char buf[4096];
    auto n = ::read(STDIN_FILENO, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (n <= 0) { // an unreadable stdin counts as its end
      end_of_input();
      continue;
    }
    pending.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (auto pos = pending.find('\n', start); pos != std::string::npos;
         pos = pending.find('\n', start)) {
      on_line(pending.substr(start, pos - start));
      start = pos + 1;
    }
    pending.erase(0, start);
  }
}

} // namespace crust_node
