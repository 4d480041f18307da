// kill -9 of a peer: a child process runs a listening service, this process
// connects to it, then the child is killed with SIGKILL. The kernel closes
// the child's sockets without a close frame; the survivor must announce
// lost_peer within the configured budget. Every wait is bounded.
//
// The child is forked before this process starts any thread (this suite
// holds this one test case only), so it inherits no half-held locks.

#include "crust/actors/blocking_service.hpp"
#include "crust/actors/service.hpp"
#include "crust/messages/errc.hpp"
#include "crust/transport/asio_runtime.hpp"
#include "crust/transport/noise/primitives.hpp"

#include "support/service_test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <poll.h>
#include <string>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace std::chrono_literals;
using namespace crust;
using namespace crust::test;

namespace {

/// The child: a listening service that writes "PORT PEERID\n" to `out` and
/// then waits to be killed (or for its parent to die).
[[noreturn]] void run_child(int out) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  log::set_level("off");
  asio_runtime io;
  io.start();
  service_test_config cfg;
  caf::actor_system sys{cfg};
  auto keys = noise::keypair::generate();
  if (!keys)
    _exit(2);
  service_config conf;
  conf.node = fast_liveness_config();
  conf.keys = *keys;
  conf.io = &io;
  blocking_service node{sys, spawn_service(sys, conf)};
  auto port = node.listen(10s);
  if (!port)
    _exit(3);
  auto line = std::to_string(*port) + " " + peer_id{keys->pub}.to_hex() + "\n";
  if (write(out, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    _exit(4);
  for (;;)
    pause();
}

/// Reads one line from `fd` within `timeout`; empty on failure.
std::string read_line(int fd, std::chrono::milliseconds timeout) {
  std::string out;
  auto deadline = clock_type::now() + timeout;
  char c = 0;
  while (clock_type::now() < deadline) {
    pollfd pfd{fd, POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - clock_type::now());
    if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0)
      break;
    if (read(fd, &c, 1) != 1)
      break;
    if (c == '\n')
      return out;
    out += c;
  }
  return {};
}

/// The forked child; killed (and reaped) at the latest when this ends.
struct child_process {
  pid_t pid = -1;

  ~child_process() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

} // namespace

BOOST_AUTO_TEST_CASE(killed_peer_is_lost_within_budget) {
  int fds[2];
  BOOST_REQUIRE_EQUAL(pipe(fds), 0);
  child_process child;
  child.pid = fork();
  BOOST_REQUIRE_MESSAGE(child.pid >= 0, "fork: " << std::strerror(errno));
  if (child.pid == 0) {
    close(fds[0]);
    run_child(fds[1]);
  }
  close(fds[1]);
  auto line = read_line(fds[0], 30s);
  close(fds[0]);
  BOOST_REQUIRE_MESSAGE(!line.empty(), "the child did not start listening");
  auto space = line.find(' ');
  BOOST_REQUIRE(space != std::string::npos);
  auto port = static_cast<uint16_t>(std::stoul(line.substr(0, space)));
  auto child_id = peer_id::parse(line.substr(space + 1));
  BOOST_REQUIRE(child_id);
  // Only now this process starts threads.
  service_fixture fx;
  auto& a = fx.add_node(fast_liveness_config());
  auto res = a->connect(contact_text(*child_id, "127.0.0.1", port));
  BOOST_REQUIRE_MESSAGE(res, why(fx.sys, res));
  // Idle for a while first: heartbeats from the child keep it up.
  BOOST_CHECK(!a->wait_for<lost_peer>(1500ms));
  auto start = clock_type::now();
  BOOST_REQUIRE_EQUAL(kill(child.pid, SIGKILL), 0);
  auto ev = a->wait_for<lost_peer>(5s);
  auto elapsed = clock_type::now() - start;
  BOOST_REQUIRE_MESSAGE(ev, "no lost_peer after kill -9 of the peer");
  BOOST_CHECK(ev->peer == *child_id);
  BOOST_TEST_MESSAGE("lost_peer after kill -9: " << millis(elapsed) << " ms, "
                                                 << fx.sys.render(ev->reason));
  // The kernel closes a killed process's sockets at once: well within the
  // inactivity timeout (1 s).
  BOOST_CHECK(elapsed < 1s);
  auto connected = a->is_connected(*child_id);
  BOOST_REQUIRE(connected);
  BOOST_CHECK(!*connected);
}
