// crust-swarm: the demo swarm launcher (docs/crust-swarm.md).
//
//   crust-swarm [--nodes N] [--budget DURATION] [--json FILE] ...
//
// Launches N crust-node processes on loopback, has them connect to every
// other node (through the seed, bootstrap and gossip when crust-node offers
// them, else directly), has each send messages to every peer, shows the
// progress, prints a summary and optionally writes a JSON report. Every
// process is stopped before it exits, whatever happened.

#include "interrupt_signal.hpp"
#include "live_view.hpp"
#include "node_binary.hpp"
#include "swarm.hpp"
#include "swarm_options.hpp"
#include "swarm_report.hpp"
#include "temp_dir.hpp"

#include <cstdio>
#include <iostream>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using namespace crust_swarm;

constexpr int exit_passed = 0;
constexpr int exit_failed = 1;
constexpr int exit_bad_options = 2;
constexpr int exit_launch_failed = 3;
constexpr int exit_signal_base = 128;

int refuse(const std::string& what) {
  std::cerr << "crust-swarm: " << what << "\n(see crust-swarm --help)\n";
  return exit_bad_options;
}

/// Checks what the options name on disk, before anything starts.
std::string check_paths(swarm_options& opts) {
  if (!opts.json_report_path.empty()) {
    auto slash = opts.json_report_path.rfind('/');
    auto dir = slash == std::string::npos
                 ? std::string{"."}
                 : opts.json_report_path.substr(0, slash + 1);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return "--json: no directory " + dir + " for " + opts.json_report_path;
  }
  if (!opts.node_binary.empty() && !is_executable_file(opts.node_binary))
    return "--node-binary: " + opts.node_binary + " is not an executable file";
  return {};
}

int exit_code(swarm_outcome outcome, int signo) {
  switch (outcome) {
    case swarm_outcome::passed: return exit_passed;
    case swarm_outcome::launch_failed: return exit_launch_failed;
    case swarm_outcome::interrupted: return exit_signal_base + signo;
    default: return exit_failed;
  }
}

int run(swarm_options opts) {
  auto binary = opts.node_binary.empty() ? default_node_binary()
                                         : opts.node_binary;
  if (binary.empty()) {
    std::cerr << "crust-swarm: no crust-node next to crust-swarm or on PATH; "
                 "name one with --node-binary\n";
    return exit_launch_failed;
  }
  if (!interrupt_signal::install()) {
    std::cerr << "crust-swarm: cannot set up signal handling\n";
    return exit_launch_failed;
  }
  std::string error;
  temp_dir work{"crust-swarm-", error};
  if (work.path().empty()) {
    std::cerr << "crust-swarm: " << error << "\n";
    return exit_launch_failed;
  }
  if (opts.keep_dir)
    work.keep();
  live_view view{opts.live_view && ::isatty(STDOUT_FILENO) == 1};
  std::printf("crust-swarm: %d nodes on loopback, crust-node %s, work "
              "directory %s\n",
              opts.nodes, binary.c_str(), work.path().c_str());
  std::fflush(stdout);
  swarm nodes{opts, binary, work.path()};
  auto status = nodes.run(view);
  view.finish(status);
  if (!view.terminal() && !status.node_rows.empty())
    for (const auto& line : live_view::node_table(status))
      std::printf("%s\n", line.c_str());
  std::printf("%s", summary_text(status).c_str());
  if (opts.keep_dir)
    std::printf("kept %s (key files, each node's stderr.log)\n",
                work.path().c_str());
  std::fflush(stdout);
  auto code = exit_code(status.outcome, nodes.interrupt_signal_number());
  if (!opts.json_report_path.empty()) {
    if (auto err = write_json_report(opts.json_report_path,
                                     json_report(status));
        !err.empty()) {
      std::cerr << "crust-swarm: " << err << "\n";
      if (code == exit_passed)
        code = exit_failed;
    }
  }
  return code;
}

} // namespace

int main(int argc, char** argv) {
  auto parsed = parse_options(argc - 1, argv + 1);
  if (std::holds_alternative<help_requested>(parsed)) {
    std::cout << usage_text();
    return exit_passed;
  }
  if (auto* err = std::get_if<option_error>(&parsed))
    return refuse(err->message);
  auto opts = std::get<swarm_options>(parsed);
  if (auto err = check_paths(opts); !err.empty())
    return refuse(err);
  return run(std::move(opts));
}
