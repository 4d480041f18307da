// crust-node: a node you can drive from the shell (docs/crust-node.md).
//
//   crust-node [OPTIONS] [COMMAND ...]
//
// Loads or creates its identity, starts listening on TCP (unless
// --no-listen), runs each COMMAND argument (one whole command each, e.g.
// 'connect PEERID@127.0.0.1:5000'), then reads commands from stdin until
// `quit` or its end (unless --no-stdin). Prints one event per line on
// stdout, for people or, with --json, as JSON objects; logs go to stderr.
//
// Exit codes: 0 after `quit`, the end of stdin or SIGINT/SIGTERM; 1 if the
// node could not start (key file, port in use) or a COMMAND argument failed;
// 2 for invalid options or commands.

#include "crust/actors/service.hpp"
#include "crust/messages/config.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/messages/log.hpp"
#include "crust/messages/type_ids.hpp"
#include "crust/transport/asio_headers.hpp"
#include "crust/transport/asio_runtime.hpp"
#include "crust/transport/codec/endpoint.hpp"
#include "crust/transport/identity.hpp"
#include "crust/transport/lan_beacon_socket.hpp"

#include "console.hpp"
#include "event_format.hpp"
#include "stop_waiter.hpp"

#include <caf/actor_system.hpp>
#include <caf/config_option_adder.hpp>
#include <caf/exec_main.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <vector>

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_bad_config = 2;

/// How long the shutdown waits for the CONSOLE and then the SERVICE.
constexpr auto shutdown_grace = std::chrono::seconds{5};

/// crust-node's configuration: crust's types, error category and `crust.`
/// options, plus the options of the app itself (global group).
struct node_app_config : crust::system_config {
  node_app_config() {
    caf::config_option_adder{custom_options_, "global"}
      .add<bool>("json", "print events as JSON lines (docs/crust-node.md)")
      .add<bool>("no-stdin", "do not read commands from stdin; run until "
                             "quit or a signal")
      .add<bool>("no-listen", "do not listen at start (the listen command "
                              "still works)")
      .add<std::string>("recv-dir", "save received files in this directory "
                                    "(created if missing); without it only "
                                    "their size and hash are printed")
      .add<caf::timespan>("command-timeout",
                          "longest wait for one command (default: 30s)");
    caf::config_option_adder{custom_options_, "crust"}
      .add<std::vector<std::string>>("contacts",
                                     "hard-coded contacts PEERID@HOST:PORT "
                                     "for bootstrap (default: none)")
      .add<std::vector<std::string>>("advertise",
                                     "endpoints HOST:PORT we tell peers we "
                                     "listen on (default: every address of "
                                     "the listener)")
      .add<std::string>("beacon", "LAN beacon: lan, loopback (tests) or off "
                                  "(default: lan)")
      .add<int64_t>("beacon-port", "UDP port of the LAN beacon (default: 5484)")
      .add<std::string>("bootstrap-cache",
                        "bootstrap cache file, or off (default: "
                        "bootstrap_cache.json next to the key file)")
      .add<caf::timespan>("bootstrap-budget",
                          "how long one bootstrap may take (default: 10s)")
      .add<int64_t>("max-bootstrap-dials",
                    "most bootstrap dials at once (default: 8)");
    caf::config_option_adder{custom_options_, "crust.nat"}.add<bool>(
      "upnp", "map the listening TCP port through the gateway (UPnP IGD, "
              "then NAT-PMP) and print port_mapped (default: off)");
  }
};

/// The app's own settings.
struct app_settings {
  /// Discovery (crust.contacts, crust.beacon, ...).
  std::vector<std::string> contacts;
  std::vector<crust::endpoint> advertise;
  std::string beacon = "lan";
  uint16_t beacon_port = crust::udp_beacon_config::default_port;
  std::string bootstrap_cache;
  caf::timespan bootstrap_budget = std::chrono::seconds{10};
  size_t max_bootstrap_dials = 8;
  bool json = false;
  bool read_stdin = true;
  bool listen = true;
  std::string recv_dir;
  caf::timespan command_timeout = std::chrono::seconds{30};
  std::vector<std::string> commands;
};

int fail(int code, const std::string& what) {
  std::cerr << "crust-node: " << what << std::endl;
  return code;
}

/// Creates `dir` (and its parents) with mode 0700 where missing.
std::string make_directory(const std::string& dir) {
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/')
      continue;
    auto part = dir.substr(0, pos);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST)
      return "cannot create " + part + ": " + std::strerror(errno);
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return dir + " is not a directory";
  return {};
}

/// Reads the app's options and checks the COMMAND arguments. Returns an
/// error text for exit code 2, or nothing.
std::string read_app_settings(const node_app_config& cfg, app_settings& out) {
  out.json = caf::get_or(cfg, "json", false);
  out.read_stdin = !caf::get_or(cfg, "no-stdin", false);
  out.listen = !caf::get_or(cfg, "no-listen", false);
  out.recv_dir = caf::get_or(cfg, "recv-dir", std::string{});
  out.command_timeout = caf::get_or(cfg, "command-timeout",
                                    out.command_timeout);
  if (out.command_timeout <= caf::timespan{0})
    return "command-timeout: must be positive";
  out.contacts = caf::get_or(cfg, "crust.contacts", out.contacts);
  for (const auto& text : out.contacts)
    if (auto c = crust::contact::parse(text); !c)
      return "crust.contacts: " + c.error().message();
  for (const auto& text :
       caf::get_or(cfg, "crust.advertise", std::vector<std::string>{})) {
    auto ep = crust::endpoint::parse(text);
    if (!ep)
      return "crust.advertise: " + ep.error().message();
    out.advertise.push_back(*ep);
  }
  out.beacon = caf::get_or(cfg, "crust.beacon", out.beacon);
  if (out.beacon != "lan" && out.beacon != "loopback" && out.beacon != "off")
    return "crust.beacon: must be lan, loopback or off, got '" + out.beacon
           + "'";
  auto port = caf::get_or(cfg, "crust.beacon-port", int64_t{out.beacon_port});
  if (port < 0 || port > 65535)
    return "crust.beacon-port: must be between 0 and 65535, got "
           + std::to_string(port);
  out.beacon_port = static_cast<uint16_t>(port);
  out.bootstrap_cache = caf::get_or(cfg, "crust.bootstrap-cache",
                                    out.bootstrap_cache);
  out.bootstrap_budget = caf::get_or(cfg, "crust.bootstrap-budget",
                                     out.bootstrap_budget);
  if (out.bootstrap_budget <= caf::timespan{0})
    return "crust.bootstrap-budget: must be positive";
  auto dials = caf::get_or(cfg, "crust.max-bootstrap-dials", int64_t{8});
  if (dials < 1 || dials > 1024)
    return "crust.max-bootstrap-dials: must be between 1 and 1024, got "
           + std::to_string(dials);
  out.max_bootstrap_dials = static_cast<size_t>(dials);
  auto args = cfg.remainder;
  if (!args.empty() && args.front() == "--")
    args.erase(args.begin());
  for (const auto& arg : args) {
    if (arg.size() > 1 && arg[0] == '-' && arg.find(' ') == std::string::npos)
      return "option '" + arg
             + "' after a command: options come first "
               "(see --help)";
    auto parsed = crust_node::parse_line(arg);
    if (!parsed.cmd && !parsed.empty)
      return "in command argument: " + parsed.error;
    if (parsed.cmd)
      out.commands.push_back(arg);
  }
  return {};
}

/// Stops `hdl` with `user_shutdown` and waits (bounded) until it is gone.
template<class Handle>
void stop_actor(caf::actor_system& sys, const Handle& hdl) {
  if (!hdl)
    return;
  caf::scoped_actor self{sys};
  self->monitor(hdl);
  self->send_exit(hdl, caf::exit_reason::user_shutdown);
  self->receive([](const caf::down_msg&) {},
                caf::after(shutdown_grace) >>
                  [] {
                    crust::log::warn("an actor did not stop within the grace "
                                     "period");
                  });
}

/// The node's life after the actor system is up. Returns the exit code.
int run(caf::actor_system& sys, const node_app_config& cfg,
        crust::asio_runtime& io) {
  auto conf = crust::read_node_config(cfg);
  if (!conf)
    return fail(exit_bad_config, conf.error().message());
  if (auto st = crust::log::set_level(conf->log_level); !st)
    return fail(exit_bad_config, st.error().message());
  app_settings app;
  if (auto err = read_app_settings(cfg, app); !err.empty())
    return fail(exit_bad_config, err);
  if (!app.recv_dir.empty())
    if (auto err = make_directory(app.recv_dir); !err.empty())
      return fail(exit_bad_config, "recv-dir: " + err);
  // Identity.
  auto key_path = conf->key_file;
  if (key_path.empty()) {
    auto def = crust::default_key_path();
    if (!def)
      return fail(exit_failure, def.error().message());
    key_path = *def;
  }
  auto id = crust::node_identity::load_or_create(key_path);
  if (!id)
    return fail(exit_failure, id.error().message());
  auto pid = id->peer_id();
  crust::log::info("identity {} from {}", pid.short_hex(), key_path);
  auto stopper = crust_node::stop_waiter::make();
  if (!stopper)
    return fail(exit_failure, stopper.error().message());
  auto& waiter = *stopper;
  auto mode = app.json ? crust_node::output_mode::json
                       : crust_node::output_mode::human;
  crust_node::event_format format{mode, [&sys](const caf::error& x) {
                                    return sys.render(x);
                                  }};
  std::printf("%s\n", format.identity(pid, key_path).c_str());
  std::fflush(stdout);
  // The io thread, then the actors.
  io.start();
  asio::signal_set signals{io.context(), SIGINT, SIGTERM};
  signals.async_wait([&waiter](std::error_code ec, int signo) {
    if (!ec) {
      crust::log::info("received signal {}", signo);
      waiter.notify(crust_node::stop_reason::signal);
    }
  });
  crust::service_config service_cfg;
  service_cfg.node = *conf;
  service_cfg.keys = id->keys();
  service_cfg.io = &io;
  service_cfg.contacts = app.contacts;
  service_cfg.advertise = app.advertise;
  service_cfg.bootstrap_budget = app.bootstrap_budget;
  service_cfg.max_bootstrap_dials = app.max_bootstrap_dials;
  if (app.bootstrap_cache != "off") {
    crust::bootstrap_cache_config cc;
    cc.path = app.bootstrap_cache;
    if (cc.path.empty()) {
      // The cache belongs to the identity: nodes with key files in one
      // directory must not share it.
      auto stem = key_path;
      auto slash = stem.rfind('/');
      auto dot = stem.rfind('.');
      if (dot != std::string::npos
          && (slash == std::string::npos || dot > slash))
        stem.resize(dot);
      cc.path = stem + ".bootstrap_cache.json";
    }
    service_cfg.cache = cc;
  }
  if (app.beacon != "off") {
    crust::udp_beacon_config uc;
    uc.port = app.beacon_port;
    uc.interfaces = app.beacon == "loopback"
                      ? crust::beacon_interfaces::loopback_only
                      : crust::beacon_interfaces::lan;
    crust::lan_beacon_config bc;
    bc.open = crust::udp_beacon_factory(io.context(), uc);
    service_cfg.beacon = bc;
  }
  auto service = crust::spawn_service(sys, std::move(service_cfg));
  crust_node::console_config console_cfg;
  console_cfg.service = service;
  console_cfg.mode = mode;
  console_cfg.recv_dir = app.recv_dir;
  console_cfg.command_timeout = app.command_timeout;
  console_cfg.max_message_size = conf->max_message_size;
  console_cfg.listen_first = app.listen;
  console_cfg.commands = app.commands;
  if (caf::get_or(cfg, "crust.nat.upnp", false))
    console_cfg.port_mapper = sys.spawn<caf::detached>(
      crust::port_mapper, crust::port_mapper_config{});
  auto port_mapper = console_cfg.port_mapper;
  console_cfg.stop = [&waiter](crust_node::stop_reason why) {
    waiter.notify(why);
  };
  auto console = sys.spawn<caf::detached>(crust_node::console,
                                          std::move(console_cfg));
  // Serve until told to stop.
  std::function<void(std::string)> on_line;
  std::function<void()> on_end;
  if (app.read_stdin) {
    on_line = [console](std::string line) {
      caf::anon_send(console, std::move(line));
    };
    on_end = [console] {
      caf::anon_send(console, crust::atom::close_v);
    };
  }
  auto reason = waiter.wait(on_line, on_end);
  crust::log::info("stopping: {}", to_string(reason));
  // The console first (nothing prints after it), then the service (closes
  // every connection), then the io thread.
  stop_actor(sys, console);
  std::printf("%s\n", format.stopping(to_string(reason)).c_str());
  std::fflush(stdout);
  stop_actor(sys, service);
  // Gives the mapping back to the gateway.
  stop_actor(sys, port_mapper);
  asio::post(io.context(), [&signals] {
    std::error_code ignored;
    signals.cancel(ignored);
  });
  io.stop();
  return crust_node::exit_code(reason);
}

} // namespace

int main(int argc, char** argv) {
  // A reader that went away must not kill the node through SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  // CAF's short help lists only its global options; the long one starts
  // with the crust group.
  for (int i = 1; i < argc; ++i) {
    std::string_view arg{argv[i]};
    if (arg == "-h" || arg == "-?" || arg == "--help")
      argv[i] = const_cast<char*>("--long-help");
  }
  // What CAF_MAIN(caf::id_block::crust) expands to, except that caf_main's
  // exit code survives (exec_main always returns EXIT_SUCCESS after it) and
  // CAF's own option errors (e.g. --crust.tcp-port=abc) also exit with 2.
  // crust::system_config registers both crust type-ID blocks itself.
  int rc = exit_ok;
  // The io context outlives the actor system: actors that end after the
  // SERVICE (its UDP ENDPOINT closes its sockets once the sessions' last
  // datagrams went out) still close sockets of a live context.
  crust::asio_runtime io;
  auto caf_main = [&rc, &io](caf::actor_system& sys,
                             const node_app_config& cfg) {
    rc = run(sys, cfg, io);
  };
  if (caf::exec_main(caf_main, argc, argv) != EXIT_SUCCESS)
    return exit_bad_config;
  return rc;
}
