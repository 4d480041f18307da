#include "crust_tcp.hpp"

#include "crust/actors/service.hpp"
#include "crust/messages/config.hpp"
#include "crust/messages/interfaces.hpp"
#include "crust/messages/log.hpp"
#include "crust/messages/type_ids.hpp"
#include "crust/transport/asio_runtime.hpp"
#include "crust/transport/noise/primitives.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <atomic>
#include <future>
#include <stdexcept>
#include <thread>

namespace crust::bench {

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// Longest any wait of the benchmark may take before it gives up.
constexpr auto max_wait = 60s;

/// crust's types and a quiet CAF logger; two scheduler workers (the
/// reference machine has two cores).
struct bench_config : crust::system_config {
  bench_config() {
    set("scheduler.max-threads", 2);
    set("logger.console-verbosity", caf::atom("quiet"));
    set("logger.file-verbosity", caf::atom("quiet"));
  }
};

/// What the receiving SERVICE's subscriber counts; read by the benchmark
/// thread.
struct receive_counter {
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> messages{0};
  /// `clock_type` ticks of the last `new_message`.
  std::atomic<clock_type::rep> last{0};
  std::atomic<uint64_t> lost{0};
};

/// A SUBSCRIBER counting payload bytes and lost peers.
service_subscriber_actor::behavior_type
counting_subscriber(service_subscriber_actor::pointer,
                    std::shared_ptr<receive_counter> counter) {
  return {
    [](const listener_started&) {},
    [](const listener_failed&) {},
    [](const connect_success&) {},
    [](const connect_failure&) {},
    [counter](const lost_peer&) {
      counter->lost.fetch_add(1, std::memory_order_relaxed);
    },
    [counter](const new_message& ev) {
      counter->bytes.fetch_add(ev.payload.size(), std::memory_order_relaxed);
      counter->messages.fetch_add(1, std::memory_order_relaxed);
      counter->last.store(clock_type::now().time_since_epoch().count(),
                          std::memory_order_release);
    },
    [](const peer_misbehaved&) {},
    [](const message_too_large&) {},
    [](const messages_dropped&) {},
    [](const connection_info_prepared&) {},
    [](const bootstrap_connect&) {},
    [](const bootstrap_failed&) {},
    [](const bootstrap_accept&) {},
  };
}

/// One transfer's work for the sender actor, and its results.
struct send_job {
  service_actor service;
  peer_id peer;
  std::vector<uint8_t> message;
  clock_type::time_point deadline;
  /// Most requests outstanding at once.
  size_t window = 1;
  /// Payload bytes the sender lets the connection's queue hold (queued
  /// after the last answer plus those in flight).
  size_t high_water = 0;
  uint64_t accepted = 0;
  uint64_t accepted_bytes = 0;
  uint64_t queue_full = 0;
  std::string failure;
  std::promise<void> done;
};

/// The sender's flow control, as a user of `send` would do it: at most
/// `window` requests outstanding, and no more bytes than `high_water` in the
/// connection's queue by the latest answer ("bytes queued after it"). With
/// the queue that full it waits, then probes with one message whose answer
/// tells how far the queue drained; a `queue_full` refusal counts as a full
/// queue. Nothing is sent only to be refused, so no payload copy is wasted.
struct sender_state {
  static inline const char* name = "bench-sender";
  std::shared_ptr<send_job> job;
  size_t outstanding = 0;
  uint64_t in_flight_bytes = 0;
  /// The queue's payload bytes by the latest answer.
  uint64_t queued = 0;
  bool probe_armed = false;
  bool finished = false;
};

using sender_actor = caf::stateful_actor<sender_state>;

/// How long the sender waits before probing a full queue.
constexpr auto probe_delay = 200us;

bool is_queue_full(const caf::error& err) {
  return err.category() == error_category
         && err.code() == static_cast<uint8_t>(errc::queue_full);
}

void send_one(sender_actor* self);

/// Sends while the window and the queue allow; reports once the time is up
/// and nothing is outstanding.
void fill(sender_actor* self) {
  auto& st = self->state;
  auto& job = *st.job;
  if (st.finished)
    return;
  if (clock_type::now() >= job.deadline || !job.failure.empty()) {
    if (st.outstanding == 0) {
      st.finished = true;
      job.done.set_value();
      self->quit();
    }
    return;
  }
  auto size = job.message.size();
  while (st.outstanding < job.window
         && st.queued + st.in_flight_bytes + size <= job.high_water)
    send_one(self);
  if (st.outstanding == 0 && !st.probe_armed) {
    st.probe_armed = true;
    self->delayed_send(self, probe_delay, atom::tick_v);
  }
}

void send_one(sender_actor* self) {
  auto& st = self->state;
  auto size = st.job->message.size();
  ++st.outstanding;
  st.in_flight_bytes += size;
  // No request timeout: each would cost an entry in CAF's clock thread (a
  // fifth of the CPU at 1 KiB); the benchmark bounds the whole transfer.
  self
    ->request(st.job->service, caf::infinite, atom::send_v, st.job->peer,
              uint8_t{0}, st.job->message)
    .then(
      [self, size](uint64_t queued) {
        auto& state = self->state;
        --state.outstanding;
        state.in_flight_bytes -= size;
        state.queued = queued;
        ++state.job->accepted;
        state.job->accepted_bytes += size;
        fill(self);
      },
      [self, size](caf::error& err) {
        auto& state = self->state;
        --state.outstanding;
        state.in_flight_bytes -= size;
        if (is_queue_full(err)) {
          ++state.job->queue_full;
          state.queued = state.job->high_water;
        } else {
          state.job->failure = self->home_system().render(err);
        }
        fill(self);
      });
}

caf::behavior stream_sender(sender_actor* self, std::shared_ptr<send_job> job) {
  self->state.job = std::move(job);
  fill(self);
  return {
    [self](atom::tick) {
      auto& st = self->state;
      st.probe_armed = false;
      if (st.outstanding == 0 && !st.finished
          && clock_type::now() < st.job->deadline)
        send_one(self);
      else
        fill(self);
    },
  };
}

noise::keypair must_generate() {
  auto kp = noise::keypair::generate();
  if (!kp)
    throw std::runtime_error("key generation: " + kp.error().message());
  return *kp;
}

/// A fresh key pair whose peer id is larger (or smaller) than `than`.
noise::keypair keys_ordered(const peer_id& than, bool larger) {
  for (;;) {
    auto kp = must_generate();
    if ((peer_id{kp.pub} > than) == larger)
      return kp;
  }
}

template<class T, class Handle, class... Ts>
T must_ask(caf::scoped_actor& self, const Handle& dest, const char* what,
           Ts&&... xs) {
  std::string failure;
  T result{};
  self->request(dest, caf::timespan{max_wait}, std::forward<Ts>(xs)...)
    .receive(
      [&](T& x) {
        result = std::move(x);
      },
      [&](caf::error& err) {
        failure = self->home_system().render(err);
      });
  if (!failure.empty())
    throw std::runtime_error(std::string{what} + ": " + failure);
  return result;
}

/// Polls `done` (a benchmark thread, not an actor: it may block) until it
/// holds or `max_wait` passed.
template<class Predicate>
void wait_until(Predicate done, const char* what) {
  auto give_up = clock_type::now() + max_wait;
  while (!done()) {
    if (clock_type::now() > give_up)
      throw std::runtime_error(std::string{"timed out waiting for "} + what);
    std::this_thread::sleep_for(200us);
  }
}

} // namespace

struct crust_loopback::impl {
  std::string congestion_control;
  size_t window;
  // Declared before the actor system: the SERVICES use them until the
  // system is gone.
  asio_runtime io_receiver;
  asio_runtime io_sender;
  asio_runtime io_probes;
  bench_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<receive_counter> counter
    = std::make_shared<receive_counter>();
  service_actor receiver;
  service_actor sender;
  service_actor probe_larger;
  service_actor probe_smaller;
  service_subscriber_actor subscriber;
  peer_id receiver_id;
  peer_id sender_id;
  std::string receiver_contact;
  crust_send_counters counters;

  impl(std::string cc, size_t window_size)
    : congestion_control(std::move(cc)), window(window_size) {
  }

  ~impl() {
    for (auto* svc : {&receiver, &sender, &probe_larger, &probe_smaller})
      if (*svc)
        caf::anon_send_exit(*svc, caf::exit_reason::user_shutdown);
    if (subscriber)
      caf::anon_send_exit(subscriber, caf::exit_reason::user_shutdown);
  }

  service_actor spawn(noise::keypair keys, asio_runtime& io) {
    service_config sc;
    sc.keys = std::move(keys);
    sc.io = &io;
    return spawn_service(sys, std::move(sc));
  }

  void start() {
    // A thousand connects would print two thousand info lines.
    log::set_level("warn");
    for (auto* io : {&io_receiver, &io_sender, &io_probes})
      io->start();
    auto receiver_keys = must_generate();
    receiver_id = peer_id{receiver_keys.pub};
    auto sender_keys = must_generate();
    sender_id = peer_id{sender_keys.pub};
    receiver = spawn(std::move(receiver_keys), io_receiver);
    sender = spawn(std::move(sender_keys), io_sender);
    probe_larger = spawn(keys_ordered(receiver_id, true), io_probes);
    probe_smaller = spawn(keys_ordered(receiver_id, false), io_probes);
    subscriber = sys.spawn(counting_subscriber, counter);
    caf::anon_send(receiver, atom::subscribe_v, subscriber);
    caf::scoped_actor self{sys};
    auto port = must_ask<uint16_t>(self, receiver, "listen", atom::listen_v);
    // The listener's setting passes to every socket it accepts.
    pin_process_tcp_sockets(congestion_control);
    receiver_contact = receiver_id.to_hex()
                       + "@127.0.0.1:" + std::to_string(port);
    must_ask<peer_id>(self, sender, "connect", atom::connect_v,
                      receiver_contact);
    pin_process_tcp_sockets(congestion_control);
  }

  transfer_figures transfer(size_t message_size,
                            std::chrono::duration<double> budget) {
    counter->bytes = 0;
    counter->messages = 0;
    auto job = std::make_shared<send_job>();
    job->service = sender;
    job->peer = receiver_id;
    job->message.assign(message_size, 0x5a);
    job->window = window;
    // Half the default queue limit: room for the window's requests in
    // flight, so `queue_full` stays the exception.
    job->high_water = node_config{}.max_queued_bytes / 2;
    auto finished = job->done.get_future();
    auto cpu_start = process_cpu_seconds();
    auto start = clock_type::now();
    job->deadline = start
                    + std::chrono::duration_cast<clock_type::duration>(budget);
    sys.spawn(stream_sender, job);
    if (finished.wait_for(max_wait) != std::future_status::ready)
      throw std::runtime_error("the crust sender did not finish");
    counters.accepted += job->accepted;
    counters.queue_full += job->queue_full;
    if (!job->failure.empty())
      throw std::runtime_error("crust send failed: " + job->failure);
    auto expected = job->accepted_bytes;
    wait_until(
      [&] {
        return counter->bytes.load() >= expected;
      },
      "the last crust message");
    auto cpu = process_cpu_seconds() - cpu_start;
    if (counter->bytes.load() != expected)
      throw std::runtime_error("crust delivered more bytes than were sent");
    auto last = clock_type::time_point{
      clock_type::duration{counter->last.load(std::memory_order_acquire)}};
    return {expected, std::chrono::duration<double>(last - start).count(), cpu};
  }

  crust_connect_times connect_times(size_t count) {
    crust_connect_times result;
    caf::scoped_actor self{sys};
    for (size_t i = 0; i < count; ++i) {
      bool larger = i % 2 == 0;
      auto& probe = larger ? probe_larger : probe_smaller;
      auto lost_before = counter->lost.load();
      auto start = clock_type::now();
      must_ask<peer_id>(self, probe, "connect", atom::connect_v,
                        receiver_contact);
      auto took
        = std::chrono::duration<double>(clock_type::now() - start).count();
      (larger ? result.dialler_larger : result.dialler_smaller).push_back(took);
      must_ask<bool>(self, probe, "disconnect", atom::disconnect_v,
                     receiver_id);
      wait_until(
        [&] {
          return counter->lost.load() > lost_before;
        },
        "the listener to see the prober go");
    }
    return result;
  }
};

crust_loopback::crust_loopback(const std::string& congestion_control,
                               size_t window)
  : impl_(std::make_unique<impl>(congestion_control, window)) {
  impl_->start();
}

crust_loopback::~crust_loopback() = default;

transfer_figures
crust_loopback::transfer(size_t message_size,
                         std::chrono::duration<double> budget) {
  return impl_->transfer(message_size, budget);
}

crust_connect_times crust_loopback::connect_times(size_t count) {
  return impl_->connect_times(count);
}

socket_census crust_loopback::census() const {
  return census_process_tcp_sockets(impl_->congestion_control);
}

const crust_send_counters& crust_loopback::counters() const {
  return impl_->counters;
}

} // namespace crust::bench
