#include "crust/actors/blocking_service.hpp"

#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

namespace crust {

// -- service_event_queue ------------------------------------------------------

void service_event_queue::push(service_event x) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    events_.emplace_back(std::move(x));
  }
  cv_.notify_all();
}

std::optional<service_event> service_event_queue::pop(caf::timespan timeout) {
  std::unique_lock<std::mutex> guard{mtx_};
  if (!cv_.wait_for(guard, timeout, [this] {
        return !events_.empty();
      }))
    return std::nullopt;
  auto out = std::move(events_.front());
  events_.pop_front();
  return out;
}

std::optional<service_event> service_event_queue::take_first(
  const std::function<bool(const service_event&)>& match,
  caf::timespan timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> guard{mtx_};
  // Events before `checked` did not match; only newcomers need a look.
  size_t checked = 0;
  for (;;) {
    for (; checked < events_.size(); ++checked) {
      if (match(events_[checked])) {
        auto i = events_.begin() + static_cast<ptrdiff_t>(checked);
        auto out = std::move(*i);
        events_.erase(i);
        return out;
      }
    }
    if (cv_.wait_until(guard, deadline) == std::cv_status::timeout
        && checked == events_.size())
      return std::nullopt;
  }
}

size_t service_event_queue::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return events_.size();
}

// -- event_queue_subscriber ---------------------------------------------------

service_subscriber_actor::behavior_type
event_queue_subscriber(service_subscriber_actor::pointer,
                       std::shared_ptr<service_event_queue> events) {
  auto push = [events](auto& x) {
    events->push(std::move(x));
  };
  return {
    [push](listener_started& x) {
      push(x);
    },
    [push](listener_failed& x) {
      push(x);
    },
    [push](connect_success& x) {
      push(x);
    },
    [push](connect_failure& x) {
      push(x);
    },
    [push](lost_peer& x) {
      push(x);
    },
    [push](new_message& x) {
      push(x);
    },
    [push](peer_misbehaved& x) {
      push(x);
    },
    [push](message_too_large& x) {
      push(x);
    },
    [push](messages_dropped& x) {
      push(x);
    },
    [push](connection_info_prepared& x) {
      push(x);
    },
    [push](bootstrap_connect& x) {
      push(x);
    },
    [push](bootstrap_failed& x) {
      push(x);
    },
    [push](bootstrap_accept& x) {
      push(x);
    },
  };
}

// -- blocking_service ---------------------------------------------------------

blocking_service::blocking_service(caf::actor_system& sys,
                                   service_actor service)
  : sys_(&sys), service_(std::move(service)),
    events_(std::make_shared<service_event_queue>()) {
  subscriber_ = sys.spawn(event_queue_subscriber, events_);
  // Mailboxes are FIFO: later requests from this thread come after it.
  caf::anon_send(service_, atom::subscribe_v, subscriber_);
}

blocking_service::~blocking_service() {
  caf::anon_send(service_, atom::unsubscribe_v, subscriber_);
  caf::anon_send_exit(subscriber_, caf::exit_reason::user_shutdown);
}

caf::expected<peer_id> blocking_service::id(caf::timespan timeout) {
  return ask<peer_id>(timeout, atom::get_v, atom::id_v);
}

caf::expected<uint16_t> blocking_service::listen(caf::timespan timeout) {
  return ask<uint16_t>(timeout, atom::listen_v);
}

caf::expected<bool> blocking_service::stop_listening(caf::timespan timeout) {
  return ask<bool>(timeout, atom::stop_v, atom::listen_v);
}

caf::expected<peer_id> blocking_service::connect(const std::string& contact,
                                                 caf::timespan timeout) {
  return ask<peer_id>(timeout, atom::connect_v, contact);
}

caf::expected<private_connection_info>
blocking_service::prepare(uint32_t token, caf::timespan timeout) {
  return ask<private_connection_info>(timeout, atom::prepare_v, token);
}

caf::expected<peer_id> blocking_service::connect(private_connection_info ours,
                                                 public_connection_info theirs,
                                                 caf::timespan timeout) {
  return ask<peer_id>(timeout, atom::connect_v, std::move(ours),
                      std::move(theirs));
}

caf::expected<uint64_t>
blocking_service::send(const peer_id& peer, uint8_t priority,
                       std::vector<uint8_t> payload, caf::timespan timeout) {
  return ask<uint64_t>(timeout, atom::send_v, peer, priority,
                       std::move(payload));
}

caf::expected<bool> blocking_service::disconnect(const peer_id& peer,
                                                 caf::timespan timeout) {
  return ask<bool>(timeout, atom::disconnect_v, peer);
}

caf::expected<bool> blocking_service::is_connected(const peer_id& peer,
                                                   caf::timespan timeout) {
  return ask<bool>(timeout, atom::is_connected_v, peer);
}

caf::expected<std::string> blocking_service::address(const peer_id& peer,
                                                     caf::timespan timeout) {
  return ask<std::string>(timeout, atom::get_v, atom::address_v, peer);
}

caf::expected<std::vector<peer_summary>>
blocking_service::peers(caf::timespan timeout) {
  return ask<std::vector<peer_summary>>(timeout, atom::get_v, atom::peers_v);
}

caf::expected<service_stats> blocking_service::stats(caf::timespan timeout) {
  return ask<service_stats>(timeout, atom::get_v, atom::stats_v);
}

caf::expected<blacklist_actor>
blocking_service::blacklist(caf::timespan timeout) {
  return ask<blacklist_actor>(timeout, atom::get_v, atom::blacklist_v);
}

std::optional<service_event>
blocking_service::next_event(caf::timespan timeout) {
  return events_->pop(timeout);
}

} // namespace crust
