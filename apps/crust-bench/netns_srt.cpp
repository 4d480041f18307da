// SRT ends of the namespace section (libsrt-openssl-dev; built only when
// found): one socket in file mode (SRTT_FILE: reliable stream, FileCC, no
// late-packet drop; live mode would drop what arrives late), no encryption,
// 64 KiB sends of the pattern; 100 ms send and receive timeouts keep every
// loop bounded.

#include "netns_posix.hpp"
#include "netns_role.hpp"

#include <srt/srt.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>
#include <vector>

namespace crust::bench::netns {

namespace {

struct srt_library {
  srt_library() {
    srt_startup();
    srt_setloglevel(LOG_ERR);
  }
  ~srt_library() {
    srt_cleanup();
  }
  srt_library(const srt_library&) = delete;
  srt_library& operator=(const srt_library&) = delete;
};

[[noreturn]] void fail(const char* what) {
  throw std::runtime_error{std::string{"SRT "} + what + ": "
                           + srt_getlasterror_str()};
}

template<class T>
void set(SRTSOCKET s, SRT_SOCKOPT opt, T value) {
  if (srt_setsockflag(s, opt, &value, sizeof(value)) == SRT_ERROR)
    fail("setsockflag");
}

SRTSOCKET file_socket() {
  auto s = srt_create_socket();
  if (s == SRT_INVALID_SOCK)
    fail("socket");
  set(s, SRTO_TRANSTYPE, SRTT_FILE);
  // No lingering for unsent data at the close (file mode waits 180 s).
  set(s, SRTO_LINGER, linger{0, 0});
  return s;
}

bool again() {
  auto code = srt_getlasterror(nullptr);
  return code == SRT_ETIMEOUT || code == SRT_EASYNCRCV || code == SRT_EASYNCSND;
}

} // namespace

int srt_receive(const role_args& args) {
  srt_library lib;
  auto listener = file_socket();
  auto addr = ipv4(args.address, args.port);
  if (srt_bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
      == SRT_ERROR)
    fail("bind");
  if (srt_listen(listener, 4) == SRT_ERROR)
    fail("listen");
  set(listener, SRTO_RCVSYN, false);
  say("ready");
  auto start = clock_type::now();
  SRTSOCKET conn = SRT_INVALID_SOCK;
  while (conn == SRT_INVALID_SOCK && !stop_requested()
         && since(start) < args.bound - 2) {
    conn = srt_accept(listener, nullptr, nullptr);
    if (conn == SRT_INVALID_SOCK)
      ::usleep(10000);
  }
  if (conn == SRT_INVALID_SOCK)
    throw std::runtime_error{"SRT: no connection"};
  set(conn, SRTO_RCVSYN, true);
  set(conn, SRTO_RCVTIMEO, 100);
  receive_meter meter{args.warmup, args.seconds};
  std::vector<char> buf(256 * 1024);
  while (!stop_requested() && since(start) < args.bound - 1) {
    auto n = ::srt_recv(conn, buf.data(), static_cast<int>(buf.size()));
    if (n > 0) {
      meter.add(reinterpret_cast<const uint8_t*>(buf.data()),
                static_cast<size_t>(n));
      continue;
    }
    if (n == 0 || !again())
      break; // closed by the sender, or broken
  }
  say("result " + meter.summary());
  srt_close(conn);
  srt_close(listener);
  return 0;
}

int srt_send(const role_args& args) {
  srt_library lib;
  auto sock = file_socket();
  auto addr = ipv4(args.address, args.port);
  if (srt_connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
      == SRT_ERROR)
    fail("connect");
  set(sock, SRTO_SNDTIMEO, 100);
  stream_pattern pattern;
  uint64_t offset = 0;
  auto start = clock_type::now();
  while (since(start) < args.send_seconds) {
    auto n = ::srt_send(sock, reinterpret_cast<const char*>(pattern.at(offset)),
                        static_cast<int>(stream_pattern::max_piece));
    if (n > 0) {
      offset += static_cast<uint64_t>(n);
      continue;
    }
    if (!again())
      break;
  }
  SRT_TRACEBSTATS st{};
  srt_bstats(sock, &st, 0);
  std::string out = "result " + field("sent_bytes", offset);
  out += " " + field("unique_bytes", st.byteSentUniqueTotal);
  out += " " + field("retransmitted_bytes", st.byteRetransTotal);
  out += " " + field("packets_sent", static_cast<uint64_t>(st.pktSentTotal));
  out += " "
         + field("retransmitted_packets",
                 static_cast<uint64_t>(st.pktRetransTotal));
  out += " "
         + field("naks_received", static_cast<uint64_t>(st.pktRecvNAKTotal));
  out += " "
         + field("sender_losses", static_cast<uint64_t>(st.pktSndLossTotal));
  say(out);
  srt_close(sock);
  return 0;
}

} // namespace crust::bench::netns
