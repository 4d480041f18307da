#include "node_capabilities.hpp"

#include "child_process.hpp"
#include "interrupt_signal.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <poll.h>

namespace crust_swarm {

namespace {

/// True if `help` lists the option `name` itself (not one it prefixes).
bool lists_option(const std::string& help, const std::string& name) {
  for (auto pos = help.find(name); pos != std::string::npos;
       pos = help.find(name, pos + 1)) {
    auto end = pos + name.size();
    if (end == help.size() || help[end] == ' ' || help[end] == '='
        || help[end] == '\n')
      return true;
  }
  return false;
}

} // namespace

bool node_capabilities::has_discovery_commands(
  const std::vector<std::string>& verbs) {
  auto has = [&verbs](const char* verb) {
    return std::find(verbs.begin(), verbs.end(), verb) != verbs.end();
  };
  return has("bootstrap") && has("learned") && has("connect-learned");
}

std::string probe_node_options(const std::string& binary,
                               const std::string& work_dir,
                               std::chrono::milliseconds timeout,
                               node_capabilities& out, int& interrupted) {
  spawn_spec spec{binary, {"--help"}, {}, work_dir + "/crust-node-help.txt"};
  std::string error;
  auto child = child_process::spawn(spec, error);
  if (!child)
    return "cannot run " + binary + ": " + error;
  child->close_stdin_when_flushed();
  std::vector<std::string> lines;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!child->reap()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return binary + " --help did not finish within "
             + std::to_string(timeout.count()) + " ms";
    pollfd fds[2] = {{interrupt_signal::fd(), POLLIN, 0},
                     {child->stdout_fd(), POLLIN, 0}};
    ::poll(fds, child->stdout_fd() >= 0 ? 2 : 1,
           static_cast<int>(std::min<int64_t>(left.count(), 50)));
    if ((interrupted = interrupt_signal::take()) != 0)
      return "interrupted";
    child->read_lines(lines);
  }
  // What it wrote just before exiting.
  child->read_lines(lines);
  if (child->exit_code() == 127)
    return "cannot run " + binary + " (" + child->status_text() + ")";
  // Wherever this CAF version prints it: stdout or stderr.
  std::ifstream in{spec.stderr_path};
  std::string help{std::istreambuf_iterator<char>{in},
                   std::istreambuf_iterator<char>{}};
  for (const auto& line : lines)
    help += line + "\n";
  out.contacts_option = lists_option(help, "--crust.contacts");
  out.beacon_option = lists_option(help, "--crust.beacon");
  out.beacon_takes_mode = help.find("--crust.beacon=<string>")
                          != std::string::npos;
  if (!lists_option(help, "--crust.key-file"))
    return binary
           + " does not look like crust-node: its --help lists no "
             "--crust.key-file";
  return {};
}

} // namespace crust_swarm
