#include "support/mem_transport.hpp"

#include "crust/messages/errc.hpp"
#include "crust/messages/type_ids.hpp"

#include <caf/send.hpp>

#include <utility>

namespace crust::test {

caf::behavior mem_pipe(caf::stateful_actor<mem_pipe_state>* self,
                       std::string label) {
  static_cast<void>(label); // spawn functions take an argument (UBSan)
  return {
    [self](atom::put, connection_actor owner, connection_actor target) {
      self->state.owner = std::move(owner);
      self->state.target = std::move(target);
    },
    [self](atom::write, std::vector<uint8_t>& bytes) {
      auto& st = self->state;
      auto n = static_cast<uint64_t>(bytes.size());
      if (st.target)
        self->send(st.target, atom::received_v, std::move(bytes));
      if (st.owner)
        self->send(st.owner, atom::sent_v, n);
    },
    [](atom::ack, uint64_t) {
      // The other end never outruns the test: no back-pressure here.
    },
    [self](atom::close) {
      auto& st = self->state;
      st.closed = true;
      if (st.target)
        self->send(st.target, atom::closed_v, caf::error{});
      self->quit();
    },
  };
}

void mem_network::listen(const endpoint& addr, service_actor svc,
                         connection_config cfg) {
  listeners_[addr] = listener{std::move(svc), std::move(cfg)};
}

void mem_network::unlisten(const endpoint& addr) {
  listeners_.erase(addr);
}

void mem_network::blackhole(const endpoint& addr) {
  blackholes_.insert(addr);
}

dial_function mem_network::dialer() {
  auto self = shared_from_this();
  return
    [self](caf::actor_system& sys, const endpoint& addr, connection_config cfg,
           connection_sink_actor sink) -> connection_actor {
      ++self->dials_;
      auto local = sys.spawn(mem_pipe, "dialler");
      auto conn = sys.spawn(connection, std::move(cfg),
                            caf::actor_cast<byte_pipe_actor>(local),
                            std::move(sink));
      if (self->blackholes_.count(addr) > 0)
        return conn; // its pipe leads nowhere
      auto i = self->listeners_.find(addr);
      if (i == self->listeners_.end()) {
        // Nobody listens: the transport fails at once.
        caf::anon_send(conn, atom::closed_v,
                       to_error(failure{errc::socket_failure,
                                        "connection refused (in memory)"}));
        return conn;
      }
      auto remote = sys.spawn(mem_pipe, "listener");
      auto rcfg = i->second.cfg;
      rcfg.remote = "dialler-of-" + to_string(addr);
      auto peer = sys.spawn(
        connection, std::move(rcfg), caf::actor_cast<byte_pipe_actor>(remote),
        caf::actor_cast<connection_sink_actor>(i->second.svc));
      caf::anon_send(local, atom::put_v, conn, peer);
      caf::anon_send(remote, atom::put_v, peer, conn);
      return conn;
    };
}

} // namespace crust::test
