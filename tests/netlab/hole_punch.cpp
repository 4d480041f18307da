// hole_punch: the NAT laboratory's reference check, independent of crust.
// Plain simultaneous UDP hole punching with a rendezvous on a public host:
// no port prediction, no TTL tricks, no port mapping. docs/netlab.md.
//
//   hole_punch rendezvous --port 3478 [--max-seconds 600]
//   hole_punch client --rendezvous IP:PORT --name A --peer B
//              [--timeout-ms 5000]
//
// A client says HELLO to the rendezvous (every 200 ms) until it learns the
// peer's observed address, then sends PUNCH to it every 100 ms. A PUNCH
// from the peer, from whatever address it comes (the peer-reflexive address
// a symmetric NAT gives), is answered with ACK to that address; an ACK
// proves both directions work. The client prints one JSON line and exits 0
// when connected, 1 when not.

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto hello_interval = milliseconds{200};
constexpr auto punch_interval = milliseconds{100};
// After its ACK, a client keeps answering PUNCHes this long so that the
// peer gets its ACK too.
constexpr auto linger = milliseconds{1000};

std::string to_string(const sockaddr_in& addr) {
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &addr.sin_addr, text, sizeof(text));
  return std::string{text} + ":" + std::to_string(ntohs(addr.sin_port));
}

std::optional<sockaddr_in> parse_endpoint(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos)
    return std::nullopt;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (inet_pton(AF_INET, text.substr(0, colon).c_str(), &addr.sin_addr) != 1)
    return std::nullopt;
  auto port = std::atoi(text.c_str() + colon + 1);
  if (port <= 0 || port > 65535)
    return std::nullopt;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

bool same_endpoint(const sockaddr_in& a, const sockaddr_in& b) {
  return a.sin_addr.s_addr == b.sin_addr.s_addr && a.sin_port == b.sin_port;
}

class udp_socket {
public:
  explicit udp_socket(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd_ < 0)
      throw std::runtime_error{std::string{"socket: "} + strerror(errno)};
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons(port);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
      throw std::runtime_error{std::string{"bind: "} + strerror(errno)};
  }

  udp_socket(const udp_socket&) = delete;
  udp_socket& operator=(const udp_socket&) = delete;

  ~udp_socket() {
    close(fd_);
  }

  // Errors (ICMP unreachable reported on the socket) are ignored: an
  // unreachable peer is a normal outcome of a punch.
  void send_to(const std::string& text, const sockaddr_in& to) {
    (void)sendto(fd_, text.data(), text.size(), 0,
                 reinterpret_cast<const sockaddr*>(&to), sizeof(to));
  }

  // One datagram within `wait`, or nothing.
  std::optional<std::pair<std::string, sockaddr_in>>
  receive(clock_type::duration wait) {
    pollfd p{fd_, POLLIN, 0};
    auto ms = std::chrono::duration_cast<milliseconds>(wait).count();
    if (poll(&p, 1, static_cast<int>(ms < 0 ? 0 : ms)) <= 0)
      return std::nullopt;
    char buf[512];
    sockaddr_in from{};
    socklen_t len = sizeof(from);
    auto n = recvfrom(fd_, buf, sizeof(buf), 0,
                      reinterpret_cast<sockaddr*>(&from), &len);
    if (n <= 0)
      return std::nullopt;
    return std::make_pair(std::string(buf, static_cast<size_t>(n)), from);
  }

private:
  int fd_ = -1;
};

std::vector<std::string> words(const std::string& text) {
  std::istringstream in{text};
  std::vector<std::string> result;
  for (std::string w; in >> w;)
    result.push_back(w);
  return result;
}

// Serves HELLO <name> <peer>: remembers where <name> was seen from and
// answers PEER <address> once <peer> has said hello too.
int run_rendezvous(uint16_t port, int max_seconds) {
  udp_socket sock{port};
  std::map<std::string, sockaddr_in> seen;
  std::printf("ready\n");
  std::fflush(stdout);
  auto deadline = clock_type::now() + std::chrono::seconds{max_seconds};
  while (clock_type::now() < deadline) {
    auto got = sock.receive(milliseconds{500});
    if (!got)
      continue;
    auto w = words(got->first);
    if (w.size() != 3 || w[0] != "HELLO")
      continue;
    seen[w[1]] = got->second;
    if (auto i = seen.find(w[2]); i != seen.end())
      sock.send_to("PEER " + to_string(i->second), got->second);
  }
  return 0;
}

int run_client(const sockaddr_in& rendezvous, const std::string& name,
               const std::string& peer, int timeout_ms) {
  udp_socket sock{0};
  auto start = clock_type::now();
  auto deadline = start + milliseconds{timeout_ms};
  std::optional<sockaddr_in> told;    // what the rendezvous observed
  std::optional<sockaddr_in> learned; // where the peer's packets come from
  std::optional<clock_type::time_point> connected_at;
  auto next_hello = start;
  auto next_punch = start;
  auto elapsed_ms = [&](clock_type::time_point t) {
    return std::chrono::duration_cast<milliseconds>(t - start).count();
  };
  while (true) {
    auto now = clock_type::now();
    if (connected_at ? now >= *connected_at + linger : now >= deadline)
      break;
    if (!told && now >= next_hello) {
      sock.send_to("HELLO " + name + " " + peer, rendezvous);
      next_hello = now + hello_interval;
    }
    if (told && !connected_at && now >= next_punch) {
      sock.send_to("PUNCH " + name, *told);
      if (learned && !same_endpoint(*learned, *told))
        sock.send_to("PUNCH " + name, *learned);
      next_punch = now + punch_interval;
    }
    auto got = sock.receive(milliseconds{20});
    if (!got)
      continue;
    auto w = words(got->first);
    if (w.size() == 2 && w[0] == "PEER"
        && same_endpoint(got->second, rendezvous)) {
      told = parse_endpoint(w[1]);
    } else if (w.size() == 2 && w[0] == "PUNCH" && w[1] == peer) {
      learned = got->second;
      sock.send_to("ACK " + name, got->second);
    } else if (w.size() == 2 && w[0] == "ACK" && w[1] == peer
               && !connected_at) {
      learned = got->second;
      connected_at = clock_type::now();
    }
  }
  if (connected_at) {
    std::printf("{\"result\":\"connected\",\"peer\":\"%s\",\"told\":\"%s\","
                "\"ms\":%lld}\n",
                to_string(*learned).c_str(),
                told ? to_string(*told).c_str() : "", //
                static_cast<long long>(elapsed_ms(*connected_at)));
    return 0;
  }
  std::printf("{\"result\":\"failed\",\"told\":\"%s\",\"ms\":%lld}\n",
              told ? to_string(*told).c_str() : "",
              static_cast<long long>(elapsed_ms(clock_type::now())));
  return 1;
}

int usage() {
  std::fprintf(stderr,
               "usage: hole_punch rendezvous --port N [--max-seconds S]\n"
               "       hole_punch client --rendezvous IP:PORT --name A "
               "--peer B [--timeout-ms T]\n");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2)
    return usage();
  std::string mode = argv[1];
  std::map<std::string, std::string> opts;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strncmp(argv[i], "--", 2) != 0)
      return usage();
    opts[argv[i] + 2] = argv[i + 1];
  }
  auto get = [&](const char* key, const char* fallback) {
    auto i = opts.find(key);
    return i != opts.end() ? i->second : std::string{fallback};
  };
  try {
    if (mode == "rendezvous") {
      auto port = std::atoi(get("port", "3478").c_str());
      if (port <= 0 || port > 65535)
        return usage();
      return run_rendezvous(static_cast<uint16_t>(port),
                            std::atoi(get("max-seconds", "600").c_str()));
    }
    if (mode == "client") {
      auto rendezvous = parse_endpoint(get("rendezvous", ""));
      auto name = get("name", "");
      auto peer = get("peer", "");
      if (!rendezvous || name.empty() || peer.empty())
        return usage();
      return run_client(*rendezvous, name, peer,
                        std::atoi(get("timeout-ms", "5000").c_str()));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hole_punch: %s\n", e.what());
    return 2;
  }
  return usage();
}
