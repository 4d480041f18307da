#pragma once

#include "crust/messages/interfaces.hpp"
#include "crust/messages/service_events.hpp"
#include "crust/messages/type_ids.hpp"
#include "crust/transport/codec/connection_info.hpp"

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/timespan.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace crust {

/// Every event a SERVICE publishes to its subscribers.
using service_event
  = std::variant<listener_started, listener_failed, connect_success,
                 connect_failure, lost_peer, new_message, peer_misbehaved,
                 message_too_large, messages_dropped, connection_info_prepared,
                 bootstrap_connect, bootstrap_failed, bootstrap_accept>;

/// Events in arrival order, filled by the facade's subscriber actor and
/// drained by the facade's user. Unbounded: the SERVICE must never block on a
/// slow reader, so a reader that stops draining keeps everything.
class service_event_queue {
public:
  void push(service_event x);

  /// The oldest event, or nothing once `timeout` passed.
  std::optional<service_event> pop(caf::timespan timeout);

  /// Removes and returns the oldest event for which `match` is true, waiting
  /// up to `timeout` for it; every other event stays queued in order.
  std::optional<service_event>
  take_first(const std::function<bool(const service_event&)>& match,
             caf::timespan timeout);

  /// Events waiting.
  size_t size() const;

private:
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<service_event> events_;
};

/// A synchronous front end of a SERVICE (messages/interfaces.hpp) for code
/// that is not an actor: every request blocks for at most its timeout and
/// answers a value or the error (the SERVICE's reason, or
/// `caf::sec::request_timeout`). Events arrive in a queue read with
/// `next_event` and `wait_for`.
///
/// Owns only a handle to the SERVICE and its subscriber actor (which ends
/// with the facade); the SERVICE lives on. Requests may come from several
/// threads at once (each uses its own blocking actor); the event queue is
/// meant for one reader. Never use it inside an actor or on the io thread.
class blocking_service {
public:
  /// The timeout of a request unless the call gives one.
  static constexpr caf::timespan default_timeout = std::chrono::seconds{30};

  /// Subscribes to `service`. The subscription is enqueued before any
  /// request made through this facade, so every event those requests cause
  /// reaches the queue.
  blocking_service(caf::actor_system& sys, service_actor service);

  /// Unsubscribes and stops the subscriber actor.
  ~blocking_service();

  blocking_service(const blocking_service&) = delete;
  blocking_service& operator=(const blocking_service&) = delete;

  const service_actor& handle() const noexcept {
    return service_;
  }

  caf::actor_system& system() const noexcept {
    return *sys_;
  }

  // -- requests
  // ----------------------------------------------------------------

  caf::expected<peer_id> id(caf::timespan timeout = default_timeout);

  /// Starts listening; the port.
  caf::expected<uint16_t> listen(caf::timespan timeout = default_timeout);

  /// Stops listening; true if the listener ran.
  caf::expected<bool> stop_listening(caf::timespan timeout = default_timeout);

  /// Connects to `PEERID@host:port`; the peer's id once connected.
  caf::expected<peer_id> connect(const std::string& contact,
                                 caf::timespan timeout = default_timeout);

  /// Prepares our connection info (announced with `token` as well).
  caf::expected<private_connection_info>
  prepare(uint32_t token, caf::timespan timeout = default_timeout);

  /// Connects with our prepared info and the peer's public info.
  caf::expected<peer_id> connect(private_connection_info ours,
                                 public_connection_info theirs,
                                 caf::timespan timeout = default_timeout);

  /// Queues a message; the bytes queued to the peer after it, or
  /// `queue_full`, `message_too_large`, `peer_not_found`.
  caf::expected<uint64_t> send(const peer_id& peer, uint8_t priority,
                               std::vector<uint8_t> payload,
                               caf::timespan timeout = default_timeout);

  /// Closes the connection to `peer`; true if there was one.
  caf::expected<bool> disconnect(const peer_id& peer,
                                 caf::timespan timeout = default_timeout);

  caf::expected<bool> is_connected(const peer_id& peer,
                                   caf::timespan timeout = default_timeout);

  /// The peer's transport address.
  caf::expected<std::string> address(const peer_id& peer,
                                     caf::timespan timeout = default_timeout);

  caf::expected<std::vector<peer_summary>>
  peers(caf::timespan timeout = default_timeout);

  caf::expected<service_stats> stats(caf::timespan timeout = default_timeout);

  /// The BLACKLIST (ban there; bans disconnect at once).
  caf::expected<blacklist_actor>
  blacklist(caf::timespan timeout = default_timeout);

  // -- events
  // ------------------------------------------------------------------

  /// The oldest event not yet taken, or nothing after `timeout`.
  std::optional<service_event> next_event(caf::timespan timeout);

  /// The oldest event of type `Event` for which `pred` is true, waiting up
  /// to `timeout`; other events stay queued for later calls.
  template<class Event, class Predicate>
  std::optional<Event> wait_for(Predicate pred, caf::timespan timeout) {
    auto match = [&pred](const service_event& x) {
      auto ev = std::get_if<Event>(&x);
      return ev != nullptr && pred(*ev);
    };
    if (auto ev = events_->take_first(match, timeout))
      return std::get<Event>(std::move(*ev));
    return std::nullopt;
  }

  /// The oldest event of type `Event`, waiting up to `timeout`.
  template<class Event>
  std::optional<Event> wait_for(caf::timespan timeout) {
    return wait_for<Event>(
      [](const Event&) {
        return true;
      },
      timeout);
  }

  /// Events waiting in the queue.
  size_t pending_events() const {
    return events_->size();
  }

private:
  template<class T, class... Ts>
  caf::expected<T> ask(caf::timespan timeout, Ts&&... xs) {
    caf::scoped_actor self{*sys_, true};
    caf::expected<T> out{caf::sec::request_timeout};
    self->request(service_, timeout, std::forward<Ts>(xs)...)
      .receive(
        [&out](T& x) {
          out = std::move(x);
        },
        [&out](caf::error& err) {
          out = std::move(err);
        });
    return out;
  }

  caf::actor_system* sys_;
  service_actor service_;
  std::shared_ptr<service_event_queue> events_;
  service_subscriber_actor subscriber_;
};

/// A SUBSCRIBER that pushes every event into `events`.
service_subscriber_actor::behavior_type
event_queue_subscriber(service_subscriber_actor::pointer self,
                       std::shared_ptr<service_event_queue> events);

} // namespace crust
