// crust-node: a node you can drive from the shell. For now it loads or
// creates its identity, listens on TCP and closes whatever connects (the
// secure channel comes next).
//
// stdout carries exactly two lines, for scripts:
//   peer-id <64 lower-case hex characters>
//   listening tcp <port>
// Logs go to stderr. The node stops at the end of stdin, on the line "quit",
// or on SIGINT/SIGTERM. Exit codes: 0 after a clean stop, 2 for invalid
// options, 1 for other failures (key file, port in use).

#include "crust/actors/node.hpp"
#include "crust/messages/config.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/messages/log.hpp"
#include "crust/messages/type_ids.hpp"
#include "crust/transport/asio_headers.hpp"
#include "crust/transport/asio_listener.hpp"
#include "crust/transport/asio_runtime.hpp"
#include "crust/transport/identity.hpp"

#include "stop_waiter.hpp"

#include <caf/actor_system.hpp>
#include <caf/exec_main.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_bad_config = 2;

/// crust-node's configuration: crust's types, error category and options.
struct node_app_config : crust::system_config {
  node_app_config() {
    // nop: everything comes from crust::system_config
  }
};

int fail(int code, const std::string& what) {
  std::cerr << "crust-node: " << what << std::endl;
  return code;
}

/// The node's life after the actor system is up. Returns the exit code.
int run(caf::actor_system& sys, const node_app_config& cfg) {
  if (!cfg.remainder.empty())
    return fail(exit_bad_config,
                "unexpected argument '" + cfg.remainder.front()
                  + "' (options are written --crust.<name>=<value>; see "
                    "--help)");
  auto conf = crust::read_node_config(cfg);
  if (!conf)
    return fail(exit_bad_config, conf.error().message());
  if (auto st = crust::log::set_level(conf->log_level); !st)
    return fail(exit_bad_config, st.error().message());
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
  // Actors, then the io thread and its objects.
  auto node = sys.spawn(crust::node, pid);
  crust::asio_runtime io;
  auto listener = crust::tcp_listener::open(
    io.context(), conf->tcp_port, [node](asio::ip::tcp::socket sock) {
      std::error_code ec;
      auto remote = sock.remote_endpoint(ec);
      caf::anon_send(node, crust::atom::accepted_v,
                     ec ? std::string{"unknown"} : crust::to_string(remote));
      // No secure channel yet: close at once.
      sock.close(ec);
    });
  if (!listener) {
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    return fail(exit_failure, listener.error().message());
  }
  auto& waiter = *stopper;
  asio::signal_set signals{io.context(), SIGINT, SIGTERM};
  signals.async_wait([&waiter](std::error_code ec, int signo) {
    if (!ec) {
      crust::log::info("received signal {}", signo);
      waiter.notify();
    }
  });
  (*listener)->start();
  io.start();
  crust::log::info("listening on TCP port {} ({})", (*listener)->port(),
                   (*listener)->dual_stack() ? "IPv6 and IPv4" : "IPv4");
  std::printf("peer-id %s\nlistening tcp %u\n", pid.to_hex().c_str(),
              static_cast<unsigned>((*listener)->port()));
  std::fflush(stdout);
  // Serve until told to stop.
  auto reason = waiter.wait();
  crust::log::info("stopping: {}", reason);
  (*listener)->close();
  asio::post(io.context(), [&signals] {
    std::error_code ignored;
    signals.cancel(ignored);
  });
  io.stop();
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  return exit_ok;
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
  auto caf_main = [&rc](caf::actor_system& sys, const node_app_config& cfg) {
    rc = run(sys, cfg);
  };
  if (caf::exec_main(caf_main, argc, argv) != EXIT_SUCCESS)
    return exit_bad_config;
  return rc;
}
