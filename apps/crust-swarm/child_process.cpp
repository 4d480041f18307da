#include "child_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <fstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#ifdef __linux__
#  include <sys/prctl.h>
#endif

extern char** environ;

namespace crust_swarm {

namespace {

/// How long the destructor waits for a killed child to be reaped.
constexpr auto reap_after_kill = std::chrono::seconds{2};

std::string errno_text(const char* what) {
  return std::string{what} + ": " + std::strerror(errno);
}

void close_fd(int& fd) {
  if (fd >= 0)
    ::close(fd);
  fd = -1;
}

/// Our environment with `extra` set (replacing variables of the same name),
/// as "NAME=VALUE" strings.
std::vector<std::string> merged_environment(
  const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> result;
  for (char** var = environ; var != nullptr && *var != nullptr; ++var) {
    std::string entry{*var};
    auto name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [key, value] : extra)
      if (key == name)
        replaced = true;
    if (!replaced)
      result.push_back(std::move(entry));
  }
  for (const auto& [key, value] : extra)
    result.push_back(key + "=" + value);
  return result;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> result;
  result.reserve(strings.size() + 1);
  for (auto& str : strings)
    result.push_back(str.data());
  result.push_back(nullptr);
  return result;
}

/// In the child after fork: only async-signal-safe calls until exec.
[[noreturn]] void exec_child(int stdin_read, int stdout_write, int stderr_fd,
                             pid_t launcher, char* const* argv,
                             char* const* envp) {
  ::setpgid(0, 0);
#ifdef __linux__
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  // The launcher may have died before prctl took effect.
  if (::getppid() != launcher)
    ::_exit(127);
#else
  (void)launcher;
#endif
  ::signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::dup2(stdin_read, STDIN_FILENO) < 0
      || ::dup2(stdout_write, STDOUT_FILENO) < 0
      || ::dup2(stderr_fd, STDERR_FILENO) < 0)
    ::_exit(127);
  ::execve(argv[0], argv, envp);
  ::_exit(127);
}

} // namespace

std::unique_ptr<child_process> child_process::spawn(const spawn_spec& spec,
                                                    std::string& error) {
  // Everything the child needs is prepared before fork: after it, the
  // child may not allocate.
  std::vector<std::string> argv_strings{spec.program};
  argv_strings.insert(argv_strings.end(), spec.args.begin(), spec.args.end());
  auto argv = c_strings(argv_strings);
  auto env_strings = merged_environment(spec.env);
  auto envp = c_strings(env_strings);
  int in_pipe[2] = {-1, -1};
  int out_pipe[2] = {-1, -1};
  // O_CLOEXEC everywhere: a child must not hold another child's pipes, or
  // that one would never see the end of its stdin.
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) {
    error = errno_text("pipe");
    return nullptr;
  }
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    error = errno_text("pipe");
    close_fd(in_pipe[0]);
    close_fd(in_pipe[1]);
    return nullptr;
  }
  int stderr_fd = ::open(spec.stderr_path.c_str(),
                         O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (stderr_fd < 0) {
    error = errno_text(spec.stderr_path.c_str());
    for (int* fd : {&in_pipe[0], &in_pipe[1], &out_pipe[0], &out_pipe[1]})
      close_fd(*fd);
    return nullptr;
  }
  auto launcher = ::getpid();
  auto pid = ::fork();
  if (pid == 0)
    exec_child(in_pipe[0], out_pipe[1], stderr_fd, launcher, argv.data(),
               envp.data());
  int fork_errno = errno;
  close_fd(in_pipe[0]);
  close_fd(out_pipe[1]);
  ::close(stderr_fd);
  if (pid < 0) {
    errno = fork_errno;
    error = errno_text("fork");
    close_fd(in_pipe[1]);
    close_fd(out_pipe[0]);
    return nullptr;
  }
  // Both sides set the group, so it exists before we ever signal it.
  ::setpgid(pid, pid);
  ::fcntl(in_pipe[1], F_SETFL, ::fcntl(in_pipe[1], F_GETFL) | O_NONBLOCK);
  ::fcntl(out_pipe[0], F_SETFL, ::fcntl(out_pipe[0], F_GETFL) | O_NONBLOCK);
  std::unique_ptr<child_process> child{new child_process};
  child->pid_ = pid;
  child->stdin_fd_ = in_pipe[1];
  child->stdout_fd_ = out_pipe[0];
  child->stderr_path_ = spec.stderr_path;
  return child;
}

child_process::~child_process() {
  close_stdin();
  close_fd(stdout_fd_);
  if (pid_ > 0 && !reap()) {
    signal_group(SIGKILL);
    auto deadline = std::chrono::steady_clock::now() + reap_after_kill;
    while (!reap() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
}

void child_process::queue_line(const std::string& line) {
  if (stdin_fd_ < 0 || close_after_flush_)
    return;
  unwritten_ += line;
  unwritten_ += '\n';
}

void child_process::close_stdin_when_flushed() {
  close_after_flush_ = true;
  if (unwritten_.empty())
    close_stdin();
}

void child_process::flush() {
  while (stdin_fd_ >= 0 && !unwritten_.empty()) {
    auto n = ::write(stdin_fd_, unwritten_.data(), unwritten_.size());
    if (n > 0) {
      unwritten_.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    // EPIPE: the child is gone; what it did not read is lost.
    unwritten_.clear();
    close_stdin();
    return;
  }
  if (close_after_flush_)
    close_stdin();
}

void child_process::read_lines(std::vector<std::string>& out) {
  char buf[16384];
  while (stdout_fd_ >= 0) {
    auto n = ::read(stdout_fd_, buf, sizeof(buf));
    if (n > 0) {
      partial_line_.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    // End of output: a last line without newline still counts.
    close_fd(stdout_fd_);
    if (!partial_line_.empty())
      partial_line_ += '\n';
  }
  size_t start = 0;
  for (auto nl = partial_line_.find('\n'); nl != std::string::npos;
       nl = partial_line_.find('\n', start)) {
    out.push_back(partial_line_.substr(start, nl - start));
    start = nl + 1;
  }
  partial_line_.erase(0, start);
}

bool child_process::reap() {
  if (status_text_)
    return true;
  if (pid_ <= 0)
    return false;
  int status = 0;
  auto res = ::waitpid(pid_, &status, WNOHANG);
  if (res == 0)
    return false;
  if (res < 0) {
    // ECHILD: nothing left to wait for.
    status_text_ = errno_text("waitpid");
    return true;
  }
  if (WIFEXITED(status)) {
    exit_code_ = WEXITSTATUS(status);
    status_text_ = "exit code " + std::to_string(*exit_code_);
  } else if (WIFSIGNALED(status)) {
    auto name = ::sigabbrev_np(WTERMSIG(status));
    status_text_ = std::string{"killed by SIG"}
                   + (name != nullptr ? name
                                      : std::to_string(WTERMSIG(status)));
  } else {
    status_text_ = "ended";
  }
  return true;
}

void child_process::signal_group(int signo) {
  if (pid_ > 0 && !status_text_)
    ::kill(-pid_, signo);
}

void child_process::close_stdin() {
  close_fd(stdin_fd_);
}

std::string file_tail(const std::string& path, size_t max_lines) {
  std::ifstream in{path};
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(std::move(line));
    if (lines.size() > max_lines)
      lines.pop_front();
  }
  std::string result;
  for (const auto& line : lines)
    result += line + "\n";
  return result;
}

} // namespace crust_swarm
