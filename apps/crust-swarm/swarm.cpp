#include "swarm.hpp"

#include "duration_text.hpp"
#include "interrupt_signal.hpp"

#include <algorithm>
#include <csignal>
#include <poll.h>
#include <random>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace crust_swarm {

namespace {

using std::chrono::milliseconds;

/// `crust-node --help` under a sanitizer can take a few seconds.
constexpr auto probe_timeout = milliseconds{15000};
constexpr auto poll_slice = milliseconds{50};
constexpr auto connect_retry_delay = milliseconds{500};
constexpr auto bootstrap_retry_delay = milliseconds{500};
constexpr auto learned_poll_interval = milliseconds{300};
constexpr auto after_connect_learned = milliseconds{300};
/// Gossip flows only when a connection is made: a node that learns nothing
/// for this long while peers are missing reconnects to the seed.
constexpr auto stall_before_refresh = milliseconds{2000};
/// crust-node's `quit` itself waits up to 5 s for queued messages.
constexpr auto quit_grace = milliseconds{8000};
constexpr auto term_grace = milliseconds{3000};
constexpr auto kill_grace = milliseconds{2000};
constexpr size_t stderr_lines_in_note = 3;
constexpr size_t max_notes = 50;

/// Where every node listens and is dialled: loopback only.
constexpr const char* loopback = "127.0.0.1";

milliseconds since(std::chrono::steady_clock::time_point from,
                   std::chrono::steady_clock::time_point to) {
  return std::chrono::duration_cast<milliseconds>(to - from);
}

std::string two_digits(int index) {
  return (index < 10 ? "0" : "") + std::to_string(index);
}

/// The first line of `text` that is not empty, for a one-line note.
std::string one_line(const std::string& text) {
  std::string result;
  for (char c : text)
    result += (c == '\n' ? " | " : std::string{c});
  while (result.size() >= 3 && result.substr(result.size() - 3) == " | ")
    result.resize(result.size() - 3);
  return result;
}

} // namespace

swarm::swarm(swarm_options opts, std::string node_binary, std::string work_dir)
  : opts_(std::move(opts)), node_binary_(std::move(node_binary)),
    work_dir_(std::move(work_dir)),
    network_name_("crust-swarm-" + std::to_string(::getpid()) + "-"
                  + std::to_string(std::random_device{}())) {
  // nop
}

swarm_status swarm::run(live_view& view) {
  start_ = clock::now();
  int probe_signal = 0;
  auto err = probe_node_options(node_binary_, work_dir_, probe_timeout, caps_,
                                probe_signal);
  if (probe_signal != 0) {
    signal_ = probe_signal;
    finish(swarm_outcome::interrupted, "interrupted while probing crust-node");
  } else if (!err.empty()) {
    finish(swarm_outcome::launch_failed, err);
  }
  if (outcome_ != swarm_outcome::running)
    return status();
  nodes_.resize(static_cast<size_t>(opts_.nodes));
  for (int i = 0; i < opts_.nodes; ++i) {
    nodes_[static_cast<size_t>(i)].index = i;
    nodes_[static_cast<size_t>(i)].dir = work_dir_ + "/node-" + two_digits(i);
  }
  // The seed starts first: its answer to `help` tells which flow we can
  // use, and the others need its port as their contact.
  if (spawn_node(0))
    send_command(nodes_[0], "help", {command_kind::help});
  while (outcome_ == swarm_outcome::running) {
    pump(poll_slice);
    step();
    view.show(status());
  }
  // The swarm as it was when the run ended: quitting nodes see their peers
  // go, which is no part of the result.
  auto at_end = status();
  shut_down(view);
  auto stopped = status();
  for (size_t i = 0; i < at_end.node_rows.size(); ++i) {
    auto& row = at_end.node_rows[i];
    row.state = stopped.node_rows[i].state;
    row.exit_status = stopped.node_rows[i].exit_status;
    row.stopped_by = stopped.node_rows[i].stopped_by;
  }
  at_end.phase = "done";
  at_end.notes = stopped.notes;
  return at_end;
}

// -- setting up ------------------------------------------------------------

std::vector<std::string> swarm::node_args(int index) const {
  const auto& node = nodes_[static_cast<size_t>(index)];
  std::vector<std::string> args{"--json",
                                "--crust.key-file=" + node.dir + "/node.key",
                                "--crust.log-level=warn", "--crust.tcp-port=0"};
  // A network of its own: no other crust node on this host (another swarm,
  // a test) answers our beacon or joins by gossip.
  args.push_back("--crust.network-name=" + network_name_);
  // The LAN beacon would broadcast beyond loopback unless told otherwise.
  if (caps_.beacon_option) {
    if (caps_.beacon_takes_mode)
      args.push_back("--crust.beacon=" + opts_.beacon);
    else
      args.push_back(std::string{"--crust.beacon="}
                     + (opts_.beacon == "off" ? "false" : "true"));
  }
  if (discovery_ && index > 0) {
    const auto& seed = nodes_[0].tracker;
    args.push_back("--crust.contacts=[\"" + seed.peer_id() + "@" + loopback
                   + ":" + std::to_string(seed.port()) + "\"]");
  }
  return args;
}

bool swarm::spawn_node(int index) {
  auto& node = nodes_[static_cast<size_t>(index)];
  if (::mkdir(node.dir.c_str(), 0700) != 0) {
    finish(swarm_outcome::launch_failed, "cannot create " + node.dir);
    return false;
  }
  // The bootstrap cache lives next to the key file; XDG_DATA_HOME keeps
  // anything else crust-node stores inside the node's own directory too.
  spawn_spec spec{node_binary_,
                  node_args(index),
                  {{"XDG_DATA_HOME", node.dir}},
                  node.dir + "/stderr.log"};
  node.transcript.open(node.dir + "/transcript.txt");
  std::string error;
  node.process = child_process::spawn(spec, error);
  if (!node.process) {
    finish(swarm_outcome::launch_failed,
           "cannot start node " + std::to_string(index) + ": " + error);
    return false;
  }
  return true;
}

void swarm::choose_mode() {
  const auto& verbs = nodes_[0].tracker.command_verbs();
  bool commands = node_capabilities::has_discovery_commands(verbs);
  bool supported = caps_.contacts_option && commands;
  switch (opts_.mode) {
    case connect_mode::automatic: discovery_ = supported; break;
    case connect_mode::direct: discovery_ = false; break;
    case connect_mode::discovery:
      if (!supported) {
        finish(swarm_outcome::launch_failed,
               std::string{"--mode discovery: this crust-node lacks "}
                 + (caps_.contacts_option ? "" : "the --crust.contacts option")
                 + (caps_.contacts_option || commands ? "" : " and ")
                 + (commands ? ""
                             : "the bootstrap, learned and connect-learned "
                               "commands"));
        return;
      }
      discovery_ = true;
      break;
  }
  mode_name_ = discovery_ ? "discovery" : "direct";
  if (opts_.mode == connect_mode::automatic && !discovery_)
    note("crust-node has no discovery commands yet: direct mode (every node "
         "dials the others by address)");
}

// -- the loop --------------------------------------------------------------

void swarm::pump(milliseconds timeout) {
  std::vector<pollfd> fds{{interrupt_signal::fd(), POLLIN, 0}};
  for (const auto& node : nodes_) {
    if (!node.process)
      continue;
    if (node.process->stdout_fd() >= 0)
      fds.push_back({node.process->stdout_fd(), POLLIN, 0});
    if (node.process->stdin_fd() >= 0 && node.process->has_unwritten_input())
      fds.push_back({node.process->stdin_fd(), POLLOUT, 0});
  }
  ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
  if (auto signo = interrupt_signal::take(); signo != 0) {
    if (signal_ == 0) {
      signal_ = signo;
      auto name = ::sigabbrev_np(signo);
      finish(swarm_outcome::interrupted,
             std::string{"interrupted by SIG"} + (name ? name : "?"));
    } else {
      // A second signal: stop waiting for a graceful quit.
      hurry_ = true;
    }
  }
  for (auto& node : nodes_) {
    if (!node.process)
      continue;
    node.process->flush();
    take_lines(node);
    node.process->reap();
  }
}

void swarm::take_lines(swarm_node& node) {
  std::vector<std::string> lines;
  node.process->read_lines(lines);
  for (const auto& line : lines) {
    node.transcript << line << '\n';
    auto result = node.tracker.on_line(line);
    if (result && !shutting_down_)
      on_result(node, *result);
  }
}

void swarm::on_result(swarm_node& node, const command_result& result) {
  auto now = clock::now();
  switch (result.command.kind) {
    case command_kind::connect:
      node.connects_in_flight.erase(result.command.target);
      if (!result.ok) {
        node.next_connect = now + connect_retry_delay;
        note(node_name(node) + ": connect to node "
             + std::to_string(result.command.target)
             + " failed: " + node.tracker.last_error());
      }
      break;
    case command_kind::bootstrap:
      if (!result.ok || node.tracker.connected().empty()) {
        node.next_bootstrap = now + bootstrap_retry_delay;
        // The first failure and then every tenth, not a flood.
        if (node.bootstrap_failures++ % 10 == 0)
          note(node_name(node) + ": bootstrap failed ("
               + node.tracker.last_error() + "), retrying");
      }
      break;
    case command_kind::learned:
      if (result.ok && !node.tracker.learned().empty())
        send_command(node, "connect-learned", {command_kind::connect_learned});
      else
        node.next_learned_poll = now + learned_poll_interval;
      break;
    case command_kind::connect_learned:
      node.next_learned_poll = now + after_connect_learned;
      break;
    case command_kind::send:
      if (!result.ok && node.tracker.send_errors() == 1)
        note(node_name(node) + ": send failed: " + node.tracker.last_error());
      break;
    case command_kind::listen:
      if (!result.ok)
        note(node_name(node)
             + ": could not listen: " + node.tracker.last_error());
      break;
    default: break;
  }
}

void swarm::step() {
  if (outcome_ != swarm_outcome::running)
    return;
  check_processes();
  if (outcome_ != swarm_outcome::running)
    return;
  auto now = clock::now();
  if (since(start_, now) >= opts_.budget) {
    auto status_now = status();
    if (time_to_full_)
      finish(swarm_outcome::messages_missing,
             "the budget of " + seconds_text(opts_.budget) + " ran out with "
               + std::to_string(status_now.messages_delivered) + " of "
               + std::to_string(status_now.messages_expected)
               + " messages delivered");
    else
      finish(swarm_outcome::not_connected,
             "the budget of " + seconds_text(opts_.budget) + " ran out with "
               + std::to_string(status_now.links) + " of "
               + std::to_string(status_now.links_expected) + " links and "
               + std::to_string(status_now.complete_nodes) + " of "
               + std::to_string(opts_.nodes)
               + " nodes connected to all others");
    return;
  }
  if (phase_ == phase::starting_seed) {
    if (!nodes_[0].tracker.started() || !nodes_[0].tracker.answered_help())
      return;
    choose_mode();
    for (int i = 1; i < opts_.nodes && outcome_ == swarm_outcome::running; ++i)
      spawn_node(i);
    phase_ = phase::starting;
    return;
  }
  if (phase_ == phase::starting) {
    bool all_started = std::all_of(nodes_.begin(), nodes_.end(),
                                   [](const swarm_node& node) {
                                     return node.tracker.started();
                                   });
    if (all_started)
      phase_ = phase::connecting;
  }
  if (phase_ == phase::starting || phase_ == phase::connecting) {
    for (auto& node : nodes_) {
      if (!node.tracker.started())
        continue;
      if (discovery_)
        drive_discovery(node);
      else if (phase_ == phase::connecting)
        drive_direct(node);
    }
    bool all_complete = phase_ == phase::connecting;
    for (int i = 0; all_complete && i < opts_.nodes; ++i)
      all_complete = complete(i);
    if (all_complete) {
      time_to_full_ = since(start_, now);
      phase_ = phase::messaging;
      for (auto& node : nodes_)
        queue_messages(node);
    }
    return;
  }
  // Done when every message arrived and every sender has had its answer
  // (a receiver may print a message before its sender prints the `ok`).
  bool all_answered
    = std::none_of(nodes_.begin(), nodes_.end(), [](const swarm_node& node) {
        return node.tracker.has_pending(command_kind::send);
      });
  if (phase_ == phase::messaging && all_answered
      && delivered()
           >= opts_.nodes * (opts_.nodes - 1) * opts_.messages_per_peer) {
    time_to_delivered_ = since(start_, now);
    finish(swarm_outcome::passed, "");
  }
}

void swarm::check_processes() {
  for (auto& node : nodes_) {
    if (!node.process)
      continue;
    bool gone = node.process->exited() || node.process->stdout_fd() < 0;
    if (!gone)
      continue;
    auto how = node.process->exited() ? node.process->status_text()
                                      : std::string{"closed its output"};
    auto tail
      = one_line(file_tail(node.process->stderr_path(), stderr_lines_in_note));
    finish(swarm_outcome::node_failed, node_name(node) + " ended unexpectedly ("
                                         + how + ")"
                                         + (tail.empty() ? "" : ": " + tail));
    return;
  }
}

void swarm::drive_direct(swarm_node& node) {
  // Each pair is dialled once, by the node with the higher index.
  if (clock::now() < node.next_connect)
    return;
  for (int j = 0; j < node.index; ++j) {
    if (connected(node.index, j) || node.connects_in_flight.count(j) != 0)
      continue;
    const auto& target = nodes_[static_cast<size_t>(j)].tracker;
    node.connects_in_flight.insert(j);
    send_command(node,
                 "connect " + target.peer_id() + "@" + loopback + ":"
                   + std::to_string(target.port()),
                 {command_kind::connect, j});
  }
}

void swarm::drive_discovery(swarm_node& node) {
  if (complete(node.index))
    return;
  auto now = clock::now();
  const auto& tracker = node.tracker;
  if (node.index > 0 && tracker.connected().empty()) {
    if (!tracker.has_pending(command_kind::bootstrap)
        && now >= node.next_bootstrap)
      send_command(node, "bootstrap", {command_kind::bootstrap});
    return;
  }
  if (tracker.connected().size() > node.peers_seen || !tracker.learned().empty()
      || node.last_progress == clock::time_point{})
    node.last_progress = now;
  node.peers_seen = tracker.connected().size();
  if (tracker.unanswered() > 0 || now < node.next_learned_poll)
    return;
  if (node.index > 0 && now - node.last_progress >= stall_before_refresh
      && now - node.last_refresh >= stall_before_refresh) {
    refresh_gossip(node);
    return;
  }
  node.next_learned_poll = now + learned_poll_interval;
  send_command(node, "learned", {command_kind::learned});
}

void swarm::refresh_gossip(swarm_node& node) {
  // Peers that joined at the same moment may each have missed the other
  // in the gossip they got; a new connection to the seed (connected to
  // everyone) brings its current list.
  node.last_refresh = clock::now();
  node.last_progress = node.last_refresh;
  ++node.refreshes;
  const auto& seed = nodes_[0].tracker;
  if (connected(node.index, 0))
    send_command(node, "disconnect " + seed.peer_id(),
                 {command_kind::disconnect, 0, seed.peer_id()});
  send_command(node,
               "connect " + seed.peer_id() + "@" + loopback + ":"
                 + std::to_string(seed.port()),
               {command_kind::connect, 0, {}, found_by::contact});
  if (node.refreshes == 1)
    note(node_name(node)
         + ": no new peers by gossip for a while; reconnecting to the seed "
           "for fresh gossip");
}

void swarm::queue_messages(swarm_node& node) {
  if (node.sends_queued)
    return;
  node.sends_queued = true;
  for (const auto& peer : nodes_) {
    if (peer.index == node.index)
      continue;
    for (int k = 1; k <= opts_.messages_per_peer; ++k)
      send_command(node,
                   "send " + peer.tracker.peer_id() + " "
                     + swarm_message_text(node.index, peer.index, k),
                   {command_kind::send, peer.index});
  }
}

void swarm::send_command(swarm_node& node, const std::string& line,
                         pending_command cmd) {
  if (!node.process || node.process->stdin_fd() < 0)
    return;
  node.process->queue_line(line);
  node.transcript << "> " << line << '\n';
  node.tracker.command_sent(cmd);
  node.process->flush();
}

void swarm::finish(swarm_outcome outcome, std::string why) {
  if (outcome_ != swarm_outcome::running)
    return;
  outcome_ = outcome;
  failure_ = std::move(why);
  ended_ = clock::now();
  phase_ = phase::done;
  if (!failure_.empty())
    note(failure_);
}

// -- the state -------------------------------------------------------------

bool swarm::connected(int from, int to) const {
  const auto& target = nodes_[static_cast<size_t>(to)].tracker.peer_id();
  return !target.empty()
         && nodes_[static_cast<size_t>(from)].tracker.connected().count(target)
              != 0;
}

bool swarm::complete(int index) const {
  for (int j = 0; j < opts_.nodes; ++j)
    if (j != index && !connected(index, j))
      return false;
  return true;
}

int swarm::delivered() const {
  int total = 0;
  for (const auto& node : nodes_)
    total += node.tracker.messages_received();
  return total;
}

std::string swarm::node_name(const swarm_node& node) const {
  return "node " + std::to_string(node.index) + " ("
         + short_id(node.tracker.peer_id()) + ")";
}

void swarm::note(std::string text) {
  if (notes_.size() < max_notes)
    notes_.push_back(std::move(text));
}

swarm_status swarm::status() const {
  swarm_status st;
  st.nodes = opts_.nodes;
  st.mode = mode_name_;
  switch (phase_) {
    case phase::starting_seed: st.phase = "starting the seed"; break;
    case phase::starting: st.phase = "starting"; break;
    case phase::connecting: st.phase = "connecting"; break;
    case phase::messaging: st.phase = "messaging"; break;
    case phase::done: st.phase = "stopping"; break;
  }
  st.outcome = outcome_;
  st.failure = failure_;
  auto end = outcome_ == swarm_outcome::running ? clock::now() : ended_;
  st.elapsed = since(start_, end);
  st.budget = opts_.budget;
  st.links_expected = opts_.nodes * (opts_.nodes - 1) / 2;
  st.time_to_full_connectivity = time_to_full_;
  st.time_to_all_delivered = time_to_delivered_;
  st.messages_expected = opts_.nodes * (opts_.nodes - 1)
                         * opts_.messages_per_peer;
  if (nodes_.empty())
    return st;
  for (int i = 0; i < opts_.nodes; ++i) {
    for (int j = i + 1; j < opts_.nodes; ++j)
      if (connected(i, j) && connected(j, i))
        ++st.links;
    if (complete(i))
      ++st.complete_nodes;
  }
  st.fully_connected = time_to_full_.has_value();
  for (const auto& node : nodes_) {
    node_status row;
    row.index = node.index;
    row.peer_id = node.tracker.peer_id();
    row.port = node.tracker.port();
    row.peers = static_cast<int>(node.tracker.connected().size());
    row.found = node.tracker.found_counts();
    row.sent = node.tracker.messages_sent();
    row.received = node.tracker.messages_received();
    row.expected_received = (opts_.nodes - 1) * opts_.messages_per_peer;
    row.send_errors = node.tracker.send_errors();
    row.lost_peers = node.tracker.lost_peers();
    if (!node.process) {
      row.state = "not started";
    } else if (node.process->exited()) {
      row.exit_status = node.process->status_text();
      row.state = row.exit_status;
    } else if (shutting_down_) {
      row.state = "stopping";
    } else {
      row.state = node.tracker.started() ? "running" : "starting";
    }
    row.stopped_by = node.stopped_by;
    st.messages_sent += row.sent;
    st.messages_delivered += row.received;
    st.node_rows.push_back(std::move(row));
  }
  st.notes = notes_;
  return st;
}

// -- ending ----------------------------------------------------------------

void swarm::shut_down(live_view& view) {
  shutting_down_ = true;
  for (auto& node : nodes_) {
    if (!node.process || node.process->reap())
      continue;
    node.stopped_by = "quit";
    node.transcript << "> quit\n";
    node.process->queue_line("quit");
    node.process->close_stdin_when_flushed();
  }
  if (wait_for_exit(quit_grace, view))
    return;
  for (auto& node : nodes_) {
    if (!node.process || node.process->reap())
      continue;
    node.stopped_by = "SIGTERM";
    // A stopped process would not act on SIGTERM.
    node.process->signal_group(SIGCONT);
    node.process->signal_group(SIGTERM);
  }
  if (wait_for_exit(term_grace, view))
    return;
  for (auto& node : nodes_) {
    if (!node.process || node.process->reap())
      continue;
    node.stopped_by = "SIGKILL";
    node.process->signal_group(SIGKILL);
  }
  hurry_ = false;
  if (!wait_for_exit(kill_grace, view))
    note("some crust-node did not end even after SIGKILL");
}

bool swarm::all_exited() const {
  return std::all_of(nodes_.begin(), nodes_.end(), [](const swarm_node& node) {
    return !node.process || node.process->exited();
  });
}

bool swarm::wait_for_exit(milliseconds limit, live_view& view) {
  auto deadline = clock::now() + limit;
  while (!all_exited()) {
    if (clock::now() >= deadline || hurry_)
      return false;
    pump(poll_slice);
    view.show(status());
  }
  // Output written just before a node exited may still be in its pipe.
  for (auto& node : nodes_)
    if (node.process)
      take_lines(node);
  return true;
}

} // namespace crust_swarm
