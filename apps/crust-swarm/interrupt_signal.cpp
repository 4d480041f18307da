#include "interrupt_signal.hpp"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <unistd.h>

namespace crust_swarm {

namespace {

// Set once by install(), read by the handler: plain ints are fine there.
int signal_pipe[2] = {-1, -1};

extern "C" void on_signal(int signo) {
  auto saved = errno;
  auto byte = static_cast<unsigned char>(signo);
  // A full pipe already holds a signal to act on.
  [[maybe_unused]] auto ignored = ::write(signal_pipe[1], &byte, 1);
  errno = saved;
}

} // namespace

bool interrupt_signal::install() {
  if (::pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
    return false;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}

int interrupt_signal::fd() {
  return signal_pipe[0];
}

int interrupt_signal::take() {
  unsigned char byte = 0;
  int first = 0;
  while (::read(signal_pipe[0], &byte, 1) == 1)
    if (first == 0)
      first = byte;
  return first;
}

} // namespace crust_swarm
