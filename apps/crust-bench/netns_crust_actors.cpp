// crust rUDP through the product path in the namespace section: a UDP
// ENDPOINT and rUDP SESSIONs (actors/udp_endpoint.hpp, rudp_session.hpp)
// with their io thread, as the loopback part runs them. The owner queues
// 16 KiB messages of the pattern with `send` and pauses while the session
// holds more than 2 MiB. The session's `get stats` has no loss counters, so
// this row has goodput only; netns_crust.cpp drives the same engine
// directly and reports them.

#include "crust/actors/udp_endpoint.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/messages/type_ids.hpp"
#include "crust/transport/asio_runtime.hpp"

#include "bench_identity.hpp"
#include "netns_role.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <stdexcept>
#include <string>
#include <thread>

namespace crust::bench::netns {

namespace {

constexpr size_t message_size = 16 * 1024;
constexpr uint64_t max_queued = uint64_t{2} << 20;
constexpr auto max_wait = std::chrono::seconds{10};
const char* network = "crust-bench-netns-actors";

udp_endpoint_config endpoint_config(const role_args& args, uint8_t seed) {
  udp_endpoint_config ec;
  ec.session.connection.local_static = seeded_keys(seed);
  ec.session.connection.network_name = network;
  if (args.cc == "new_reno")
    ec.session.engine.congestion = rudp::congestion_algorithm::new_reno;
  else
    ec.session.engine.congestion = rudp::congestion_algorithm::loss_tolerant;
  return ec;
}

} // namespace

int crust_actors_receive(const role_args& args) {
  asio_runtime io;
  io.start();
  quiet_system_config cfg;
  receive_meter meter{args.warmup, args.seconds};
  std::string failure;
  {
    caf::actor_system sys{cfg};
    caf::scoped_actor sink{sys};
    auto ec = endpoint_config(args, 2);
    ec.bind_addresses = {args.address};
    ec.port = args.port;
    ec.accept = true;
    ec.acceptor = caf::actor_cast<connection_sink_actor>(sink);
    auto ep = spawn_udp_endpoint(sys, io, std::move(ec));
    if (!ep)
      throw std::runtime_error{"UDP endpoint: " + ep.error().message()};
    say("ready");
    auto start = clock_type::now();
    bool gone = false;
    // Counts until the window is over, then serves until the sender closes.
    while (!gone && !stop_requested() && since(start) < args.bound - 1) {
      sink->receive(
        [&](new_message& m) {
          meter.add(m.payload.data(), m.payload.size());
        },
        [&](authenticated&) {
          // The owner's part of the choice (wire-protocol.md §5.1).
          sink->send(caf::actor_cast<connection_actor>(sink->current_sender()),
                     atom::choose_v);
        },
        [&](established&) {},
        [&](lost_peer&) {
          gone = meter.started();
        },
        [&](messages_dropped&) {},
        caf::after(std::chrono::milliseconds{100}) >> [] {});
    }
    caf::anon_send_exit(*ep, caf::exit_reason::user_shutdown);
  }
  io.stop();
  say("result " + meter.summary());
  return 0;
}

int crust_actors_send(const role_args& args) {
  asio_runtime io;
  io.start();
  quiet_system_config cfg;
  std::string out;
  {
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};
    auto ec = endpoint_config(args, 1);
    ec.bind_addresses = {"0.0.0.0"};
    auto ep = spawn_udp_endpoint(sys, io, std::move(ec));
    if (!ep)
      throw std::runtime_error{"UDP endpoint: " + ep.error().message()};
    auto sink = caf::actor_cast<connection_sink_actor>(self);
    connection_actor session;
    std::string why;
    self
      ->request(*ep, max_wait, atom::connect_v,
                args.address + ":" + std::to_string(args.port),
                peer_id{seeded_keys(2).pub}, sink)
      .receive(
        [&](connection_actor& s) {
          session = s;
        },
        [&](caf::error& err) {
          why = sys.render(err);
        });
    if (!session)
      throw std::runtime_error{"rUDP connect: " + why};
    bool up = false;
    auto start = clock_type::now();
    while (!up && since(start) < 10)
      self->receive(
        [&](authenticated&) {
          // The owner's part of the choice.
          self->send(session, atom::choose_v);
        },
        [&](established&) {
          up = true;
        },
        caf::after(std::chrono::milliseconds{100}) >> [] {});
    if (!up)
      throw std::runtime_error{"rUDP: no handshake"};
    stream_pattern pattern;
    uint64_t offset = 0;
    auto queued_now = [&] {
      uint64_t queued = 0;
      self->request(session, max_wait, atom::get_v, atom::stats_v)
        .receive(
          [&](connection_stats& s) {
            queued = s.queued_bytes;
          },
          [&](caf::error&) {});
      return queued;
    };
    start = clock_type::now();
    bool failed = false;
    while (!failed && since(start) < args.send_seconds) {
      byte_buffer msg(pattern.at(offset), pattern.at(offset) + message_size);
      uint64_t queued = 0;
      self->request(session, max_wait, atom::send_v, uint8_t{1}, msg)
        .receive(
          [&](uint64_t q) {
            queued = q;
            offset += message_size;
          },
          [&](caf::error& err) {
            why = sys.render(err);
            failed = true;
          });
      while (!failed && queued > max_queued
             && since(start) < args.send_seconds) {
        std::this_thread::sleep_for(std::chrono::microseconds{500});
        queued = queued_now();
      }
    }
    connection_stats st;
    self->request(session, max_wait, atom::get_v, atom::stats_v)
      .receive(
        [&](connection_stats& s) {
          st = s;
        },
        [&](caf::error&) {});
    out = "result " + field("sent_bytes", offset);
    out += " " + field("bytes_out", st.bytes_out);
    out += " " + field("messages_out", st.messages_out);
    if (failed)
      out += " send_error=1";
    caf::anon_send(session, atom::close_v);
    std::this_thread::sleep_for(std::chrono::milliseconds{300});
    caf::anon_send_exit(*ep, caf::exit_reason::user_shutdown);
  }
  io.stop();
  say(out);
  return 0;
}

} // namespace crust::bench::netns
