// UDT4 ends of the namespace section (libudt-dev; built only when found):
// one UDT stream socket (SOCK_STREAM, the library's default DAIMD congestion
// control, default buffers), 64 KiB sends of the pattern. Sends and
// receives time out after 100 ms so every loop stays bounded.

#include "netns_posix.hpp"
#include "netns_role.hpp"

#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <udt/udt.h>
#include <unistd.h>
#include <vector>

namespace crust::bench::netns {

namespace {

/// UDT::startup / UDT::cleanup.
struct udt_library {
  udt_library() {
    UDT::startup();
  }
  ~udt_library() {
    UDT::cleanup();
  }
  udt_library(const udt_library&) = delete;
  udt_library& operator=(const udt_library&) = delete;
};

[[noreturn]] void fail(const char* what) {
  throw std::runtime_error{std::string{"UDT "} + what + ": "
                           + UDT::getlasterror().getErrorMessage()};
}

void set_int(UDTSOCKET s, UDT::SOCKOPT opt, int value) {
  UDT::setsockopt(s, 0, opt, &value, sizeof(value));
}

void set_bool(UDTSOCKET s, UDT::SOCKOPT opt, bool value) {
  UDT::setsockopt(s, 0, opt, &value, sizeof(value));
}

} // namespace

int udt_receive(const role_args& args) {
  udt_library lib;
  auto listener = UDT::socket(AF_INET, SOCK_STREAM, 0);
  if (listener == UDT::INVALID_SOCK)
    fail("socket");
  auto addr = ipv4(args.address, args.port);
  if (UDT::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
      == UDT::ERROR)
    fail("bind");
  if (UDT::listen(listener, 4) == UDT::ERROR)
    fail("listen");
  set_bool(listener, UDT_RCVSYN, false);
  say("ready");
  auto start = clock_type::now();
  UDTSOCKET conn = UDT::INVALID_SOCK;
  while (conn == UDT::INVALID_SOCK && !stop_requested()
         && since(start) < args.bound - 2) {
    conn = UDT::accept(listener, nullptr, nullptr);
    if (conn == UDT::INVALID_SOCK)
      ::usleep(10000);
  }
  if (conn == UDT::INVALID_SOCK)
    throw std::runtime_error{"UDT: no connection"};
  set_bool(conn, UDT_RCVSYN, true);
  set_int(conn, UDT_RCVTIMEO, 100);
  receive_meter meter{args.warmup, args.seconds};
  std::vector<char> buf(256 * 1024);
  while (!stop_requested() && since(start) < args.bound - 1) {
    auto n = UDT::recv(conn, buf.data(), static_cast<int>(buf.size()), 0);
    if (n > 0) {
      meter.add(reinterpret_cast<const uint8_t*>(buf.data()),
                static_cast<size_t>(n));
      continue;
    }
    // A timeout returns an error too; a broken connection is the end.
    if (UDT::getlasterror_code() != CUDTException::ETIMEOUT
        && UDT::getlasterror_code() != CUDTException::EASYNCRCV)
      break;
  }
  say("result " + meter.summary());
  UDT::close(conn);
  UDT::close(listener);
  return 0;
}

int udt_send(const role_args& args) {
  udt_library lib;
  auto sock = UDT::socket(AF_INET, SOCK_STREAM, 0);
  if (sock == UDT::INVALID_SOCK)
    fail("socket");
  auto addr = ipv4(args.address, args.port);
  if (UDT::connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
      == UDT::ERROR)
    fail("connect");
  set_int(sock, UDT_SNDTIMEO, 100);
  stream_pattern pattern;
  uint64_t offset = 0;
  auto start = clock_type::now();
  while (since(start) < args.send_seconds) {
    auto n = UDT::send(sock, reinterpret_cast<const char*>(pattern.at(offset)),
                       static_cast<int>(stream_pattern::max_piece), 0);
    if (n > 0) {
      offset += static_cast<uint64_t>(n);
      continue;
    }
    if (UDT::getlasterror_code() != CUDTException::ETIMEOUT
        && UDT::getlasterror_code() != CUDTException::EASYNCSND)
      break;
  }
  UDT::TRACEINFO perf{};
  UDT::perfmon(sock, &perf, false);
  int mss = 0;
  int len = sizeof(mss);
  UDT::getsockopt(sock, 0, UDT_MSS, &mss, &len);
  // Packets, not bytes: data packets are full-size while the sender is
  // busy; the payload of one is the MSS less 28 bytes of IP/UDP and 16 of
  // UDT header.
  auto payload = static_cast<uint64_t>(mss > 44 ? mss - 44 : 1);
  auto sent = static_cast<uint64_t>(perf.pktSentTotal);
  auto retrans = static_cast<uint64_t>(perf.pktRetransTotal);
  std::string out = "result " + field("sent_bytes", offset);
  out += " " + field("unique_bytes", (sent - retrans) * payload);
  out += " " + field("retransmitted_bytes", retrans * payload);
  out += " " + field("packets_sent", sent);
  out += " " + field("retransmitted_packets", retrans);
  out += " "
         + field("naks_received", static_cast<uint64_t>(perf.pktRecvNAKTotal));
  out += " "
         + field("sender_losses", static_cast<uint64_t>(perf.pktSndLossTotal));
  say(out);
  // No lingering for unsent data (UDT's default waits up to 180 s).
  linger no_linger{0, 0};
  UDT::setsockopt(sock, 0, UDT_LINGER, &no_linger, sizeof(no_linger));
  UDT::close(sock);
  return 0;
}

} // namespace crust::bench::netns
