#pragma once

#include "child_process.hpp"
#include "live_view.hpp"
#include "node_capabilities.hpp"
#include "node_tracker.hpp"
#include "swarm_options.hpp"
#include "swarm_status.hpp"

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace crust_swarm {

/// One crust-node of the swarm: its process, what it told us, and what the
/// launcher is waiting for from it.
struct swarm_node {
  int index = 0;
  std::string dir;
  std::unique_ptr<child_process> process;
  node_tracker tracker;
  /// Every line the node printed, and every command we sent it (prefixed
  /// "> "), for --keep-dir post-mortems.
  std::ofstream transcript;
  /// Direct mode: nodes we asked this one to `connect` to, not answered.
  std::set<int> connects_in_flight;
  /// Discovery mode: when to try `bootstrap` and `learned` next.
  std::chrono::steady_clock::time_point next_connect{};
  std::chrono::steady_clock::time_point next_bootstrap{};
  std::chrono::steady_clock::time_point next_learned_poll{};
  int bootstrap_failures = 0;
  /// Discovery mode: when the node last gained a peer or learned one, and
  /// when it last reconnected to the seed to hear its gossip again.
  std::chrono::steady_clock::time_point last_progress{};
  std::chrono::steady_clock::time_point last_refresh{};
  size_t peers_seen = 0;
  int refreshes = 0;
  bool sends_queued = false;
  /// "quit", "SIGTERM" or "SIGKILL": the last shutdown step it needed.
  std::string stopped_by;
};

/// Launches the swarm, drives it to full connectivity and message delivery
/// (or until the budget runs out, a node fails or a signal arrives), then
/// stops every process. Single-threaded: one poll loop over every node's
/// pipes and the signal pipe; every wait is bounded.
class swarm {
public:
  swarm(swarm_options opts, std::string node_binary, std::string work_dir);

  /// Runs the whole life of the swarm; the final status. `view` is told
  /// about progress as it happens.
  swarm_status run(live_view& view);

  /// The signal that ended the run, 0 if none.
  int interrupt_signal_number() const {
    return signal_;
  }

private:
  using clock = std::chrono::steady_clock;

  enum class phase { starting_seed, starting, connecting, messaging, done };

  // -- setting up --------------------------------------------------------

  bool spawn_node(int index);
  std::vector<std::string> node_args(int index) const;
  void choose_mode();

  // -- the loop ----------------------------------------------------------

  /// Waits up to `timeout` for output, signals or writable stdins, and
  /// takes in everything that arrived.
  void pump(std::chrono::milliseconds timeout);
  void take_lines(swarm_node& node);
  void on_result(swarm_node& node, const command_result& result);
  void step();
  void check_processes();
  void drive_direct(swarm_node& node);
  void drive_discovery(swarm_node& node);
  void refresh_gossip(swarm_node& node);
  void queue_messages(swarm_node& node);
  void send_command(swarm_node& node, const std::string& line,
                    pending_command cmd);
  void finish(swarm_outcome outcome, std::string why);

  // -- the state ---------------------------------------------------------

  bool connected(int from, int to) const;
  bool complete(int index) const;
  int delivered() const;
  swarm_status status() const;
  void note(std::string text);
  std::string node_name(const swarm_node& node) const;

  // -- ending ------------------------------------------------------------

  void shut_down(live_view& view);
  bool all_exited() const;
  /// Pumps until every node exited, `limit` passed or a further signal
  /// arrived (which cuts the grace short); true if all exited.
  bool wait_for_exit(std::chrono::milliseconds limit, live_view& view);

  swarm_options opts_;
  std::string node_binary_;
  std::string work_dir_;
  std::string network_name_;
  std::vector<swarm_node> nodes_;
  node_capabilities caps_;
  bool discovery_ = false;
  std::string mode_name_ = "probing";
  phase phase_ = phase::starting_seed;
  bool shutting_down_ = false;
  swarm_outcome outcome_ = swarm_outcome::running;
  std::string failure_;
  int signal_ = 0;
  bool hurry_ = false;
  clock::time_point start_;
  clock::time_point ended_;
  std::optional<std::chrono::milliseconds> time_to_full_;
  std::optional<std::chrono::milliseconds> time_to_delivered_;
  std::vector<std::string> notes_;
};

} // namespace crust_swarm
