#include "netns_lab.hpp"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <random>
#include <sched.h>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace crust::bench::netns {

volatile std::sig_atomic_t stop_signal = 0;

namespace {

using clock_type = std::chrono::steady_clock;

constexpr const char* registry = "/run/netlab";
constexpr const char* table = "crustbench";

double since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

void check_stop() {
  if (stop_signal != 0)
    throw interrupted{stop_signal};
}

std::vector<char*> c_args(std::vector<std::string>& xs) {
  std::vector<char*> out;
  for (auto& x : xs)
    out.push_back(x.data());
  out.push_back(nullptr);
  return out;
}

/// A zombie (killed, not yet reaped) counts as gone.
bool pid_alive(pid_t pid) {
  if (pid <= 0 || (::kill(pid, 0) != 0 && errno != EPERM))
    return false;
  std::ifstream f{"/proc/" + std::to_string(pid) + "/stat"};
  std::string stat;
  std::getline(f, stat);
  auto paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size()
         || stat[paren + 2] != 'Z';
}

std::vector<std::string> namespaces() {
  std::vector<std::string> out;
  if (auto* d = ::opendir("/run/netns")) {
    while (auto* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..")
        out.push_back(name);
    }
    ::closedir(d);
  }
  return out;
}

/// Kills what still runs in `ns` (processes a killed run left) and deletes
/// it.
void delete_namespace(const std::string& ns) {
  auto pids = run_command({"ip", "netns", "pids", ns}, 5);
  std::istringstream in{pids.output};
  for (long pid; in >> pid;)
    if (pid > 1 && pid != ::getpid())
      ::kill(static_cast<pid_t>(pid), SIGKILL);
  run_command({"ip", "netns", "del", ns}, 10);
}

/// The namespaces of registered runs whose process is gone (docs/netlab.md).
void remove_stale_runs() {
  auto* d = ::opendir(registry);
  if (!d)
    return;
  std::vector<std::string> entries;
  while (auto* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..")
      entries.push_back(name);
  }
  ::closedir(d);
  for (const auto& entry : entries) {
    auto path = std::string{registry} + "/" + entry;
    std::ifstream f{path};
    long pid = 0;
    if (!(f >> pid))
      continue;
    if (pid_alive(static_cast<pid_t>(pid)))
      continue;
    for (const auto& ns : namespaces())
      if (ns.rfind(entry + "-", 0) == 0)
        delete_namespace(ns);
    ::unlink(path.c_str());
  }
}

} // namespace

// -- commands -----------------------------------------------------------------

command_result run_command(const std::vector<std::string>& argv, double timeout,
                           const std::string& input) {
  command_result res;
  int out[2];
  int in[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    return res;
  if (::pipe2(in, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return res;
  }
  auto pid = ::fork();
  if (pid < 0) {
    for (int fd : {out[0], out[1], in[0], in[1]})
      ::close(fd);
    return res;
  }
  if (pid == 0) {
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(out[1], STDERR_FILENO);
    auto args = argv;
    auto cargs = c_args(args);
    ::execvp(cargs[0], cargs.data());
    std::_Exit(127);
  }
  ::close(out[1]);
  ::close(in[0]);
  // Small inputs (nft rulesets) fit into the pipe buffer.
  size_t pos = 0;
  for (int i = 0; i < 1000 && pos < input.size(); ++i) {
    auto n = ::write(in[1], input.data() + pos, input.size() - pos);
    if (n == 0 || (n < 0 && errno != EINTR))
      break;
    if (n > 0)
      pos += static_cast<size_t>(n);
  }
  ::close(in[1]);
  auto start = clock_type::now();
  char buf[4096];
  bool open = true;
  while (open && since(start) < timeout) {
    pollfd p{out[0], POLLIN, 0};
    auto r = ::poll(&p, 1, 100);
    if (r < 0 && errno != EINTR)
      break;
    if (r > 0) {
      auto n = ::read(out[0], buf, sizeof(buf));
      if (n > 0)
        res.output.append(buf, static_cast<size_t>(n));
      else if (n == 0 || errno != EINTR)
        open = false;
    }
  }
  ::close(out[0]);
  int status = 0;
  // The output is closed (or the time is up): reap, bounded.
  for (int i = 0; i < 50; ++i) {
    auto w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) {
      res.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      return res;
    }
    if (w < 0)
      return res;
    if (since(start) >= timeout)
      break;
    ::usleep(20000);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  res.code = -1;
  res.output += "\n(timed out)";
  return res;
}

// -- lab ----------------------------------------------------------------------

std::string lab::skip_reason() {
  if (::geteuid() != 0)
    return "not root (network namespaces need CAP_SYS_ADMIN; run it with "
           "sudo)";
  for (const char* tool : {"ip", "nft", "tc"}) {
    auto r = run_command({"sh", "-c", std::string{"command -v "} + tool}, 5);
    if (r.code != 0)
      return std::string{"'"} + tool + "' not found (apt-get install "
             + (std::string{tool} == "nft" ? "nftables" : "iproute2") + ")";
  }
  return {};
}

void lab::ns_run(const std::string& ns, std::vector<std::string> argv,
                 const std::string& input) const {
  check_stop();
  std::vector<std::string> full{"ip", "netns", "exec", ns};
  full.insert(full.end(), argv.begin(), argv.end());
  auto r = run_command(full, 10, input);
  if (r.code != 0) {
    std::string text;
    for (const auto& a : argv)
      text += (text.empty() ? "" : " ") + a;
    auto out = r.output;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
      out.pop_back();
    throw std::runtime_error{"'" + text + "' in " + ns + " failed: " + out};
  }
}

lab::lab() {
  std::random_device rd;
  char hex[8];
  std::snprintf(hex, sizeof(hex), "%06x", rd() & 0xffffffu);
  prefix_ = std::string{"cb"} + hex;
  snd_ = prefix_ + "-snd";
  rcv_ = prefix_ + "-rcv";
  try {
    remove_stale_runs();
    ::mkdir(registry, 0755);
    {
      std::ofstream f{std::string{registry} + "/" + prefix_};
      f << ::getpid();
      registered_ = static_cast<bool>(f);
    }
    for (const auto& ns : {snd_, rcv_}) {
      check_stop();
      auto r = run_command({"ip", "netns", "add", ns}, 10);
      if (r.code != 0)
        throw std::runtime_error{"cannot create a network namespace: "
                                 + r.output};
      created_.push_back(ns);
    }
    // The veth is made inside the sender's namespace with its peer moved
    // straight into the receiver's: nothing touches the root namespace.
    auto rc = run_command({"ip", "-n", snd_, "link", "add", "veth0", "type",
                           "veth", "peer", "name", "veth0", "netns", rcv_},
                          10);
    if (rc.code != 0)
      throw std::runtime_error{"cannot create a veth pair: " + rc.output};
    const std::pair<const std::string*, const char*> ends[]
      = {{&snd_, sender_address}, {&rcv_, receiver_address}};
    for (auto [ns, address] : ends) {
      ns_run(*ns, {"sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
                   "net.ipv6.conf.default.disable_ipv6=1"});
      ns_run(*ns, {"ip", "link", "set", "lo", "up"});
      ns_run(*ns, {"ip", "link", "set", "veth0", "gso_max_segs", "1"});
      ns_run(*ns, {"ip", "addr", "add", std::string{address} + "/24", "dev",
                   "veth0"});
      ns_run(*ns, {"ip", "link", "set", "veth0", "up"});
    }
    ns_run(snd_, {"tc", "qdisc", "add", "dev", "veth0", "root", "tbf", "rate",
                  "100mbit", "burst", "64kb", "latency", "50ms"});
    set_loss(0);
  } catch (...) {
    teardown();
    throw;
  }
}

lab::~lab() {
  teardown();
}

void lab::set_loss(int percent) {
  auto ports = std::to_string(first_port) + "-" + std::to_string(last_port);
  std::string rules
    = "table inet " + std::string{table} + "\n" + "delete table inet " + table
      + "\n" + "table inet " + table + " {\n" + "  chain input {\n"
      + "    type filter hook input priority 0; policy accept;\n"
      + "    meta l4proto { tcp, udp } th dport " + ports + " counter\n";
  if (percent > 0)
    rules += "    meta l4proto { tcp, udp } th dport " + ports
             + " numgen random mod 100 < " + std::to_string(percent)
             + " counter drop\n";
  rules += "  }\n}\n";
  ns_run(rcv_, {"nft", "-f", "-"}, rules);
}

lab::counters lab::read_counters() const {
  counters out;
  auto r = run_command(
    {"ip", "netns", "exec", rcv_, "nft", "list", "table", "inet", table}, 10);
  std::vector<uint64_t> packets;
  std::istringstream in{r.output};
  std::string word;
  while (in >> word)
    if (word == "packets") {
      unsigned long long n = 0;
      if (in >> n)
        packets.push_back(n);
    }
  if (!packets.empty())
    out.packets = packets[0];
  if (packets.size() > 1)
    out.dropped = packets[1];
  return out;
}

void lab::teardown() {
  // No signal may interrupt the cleanup half-way.
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, &old);
  for (auto i = created_.rbegin(); i != created_.rend(); ++i)
    delete_namespace(*i);
  created_.clear();
  if (registered_) {
    ::unlink((std::string{registry} + "/" + prefix_).c_str());
    registered_ = false;
  }
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
}

// -- role_process -------------------------------------------------------------

role_process::role_process(const std::string& self_exe, const std::string& ns,
                           const std::vector<std::string>& args) {
  check_stop();
  auto ns_path = "/run/netns/" + ns;
  int nsfd = ::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    throw std::runtime_error{"open " + ns_path + ": " + std::strerror(errno)};
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    ::close(nsfd);
    throw std::runtime_error{std::string{"pipe: "} + std::strerror(errno)};
  }
  auto pid = ::fork();
  if (pid < 0) {
    ::close(nsfd);
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error{std::string{"fork: "} + std::strerror(errno)};
  }
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0)
      ::dup2(devnull, STDIN_FILENO);
    if (::setns(nsfd, CLONE_NEWNET) != 0) {
      static const char msg[] = "error setns failed\n";
      auto ignored = ::write(STDOUT_FILENO, msg, sizeof(msg) - 1);
      static_cast<void>(ignored);
      std::_Exit(126);
    }
    std::vector<std::string> full{self_exe, "__netns-role"};
    full.insert(full.end(), args.begin(), args.end());
    auto cargs = c_args(full);
    ::execv(cargs[0], cargs.data());
    std::_Exit(127);
  }
  ::close(nsfd);
  ::close(fds[1]);
  pid_ = pid;
  out_ = fds[0];
}

role_process::~role_process() {
  kill_and_reap();
  if (out_ >= 0)
    ::close(out_);
}

bool role_process::pump(double seconds) {
  if (out_ < 0)
    return false;
  pollfd p{out_, POLLIN, 0};
  auto r = ::poll(&p, 1, static_cast<int>(std::ceil(seconds * 1000)));
  if (r <= 0)
    return true;
  char buf[4096];
  auto n = ::read(out_, buf, sizeof(buf));
  if (n < 0 && errno == EINTR)
    return true;
  if (n <= 0) {
    if (!partial_.empty())
      lines_.push_back(partial_);
    partial_.clear();
    ::close(out_);
    out_ = -1;
    return false;
  }
  partial_.append(buf, static_cast<size_t>(n));
  for (auto nl = partial_.find('\n'); nl != std::string::npos;
       nl = partial_.find('\n')) {
    // Bounded: a chatty library cannot make us keep everything.
    if (lines_.size() < 10000)
      lines_.push_back(partial_.substr(0, nl));
    partial_.erase(0, nl + 1);
  }
  return true;
}

bool role_process::exited() {
  if (reaped_)
    return true;
  int status = 0;
  auto w = ::waitpid(pid_, &status, WNOHANG);
  if (w == pid_ || w < 0)
    reaped_ = true;
  return reaped_;
}

const std::string* role_process::line_with(const std::string& word) const {
  for (const auto& l : lines_)
    if (l == word || l.rfind(word + " ", 0) == 0)
      return &l;
  return nullptr;
}

std::string role_process::last_other_line() const {
  for (auto i = lines_.rbegin(); i != lines_.rend(); ++i)
    if (!i->empty() && i->rfind("ready", 0) != 0 && i->rfind("result", 0) != 0
        && i->rfind("error", 0) != 0)
      return *i;
  return {};
}

void role_process::signal(int sig) {
  if (!reaped_ && pid_ > 0)
    ::kill(pid_, sig);
}

void role_process::kill_and_reap() {
  if (reaped_ || pid_ <= 0)
    return;
  if (!exited()) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
  }
}

std::string self_executable() {
  char buf[4096];
  auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    throw std::runtime_error{"cannot resolve /proc/self/exe"};
  return std::string(buf, static_cast<size_t>(n));
}

} // namespace crust::bench::netns
