#include "crust/actors/bootstrap_manager.hpp"

#include "crust/actors/blacklist.hpp"
#include "crust/messages/log.hpp"
#include "crust/transport/codec/endpoint.hpp"

#include <caf/error.hpp>
#include <caf/result.hpp>
#include <caf/sec.hpp>

#include <algorithm>
#include <memory>
#include <random>
#include <utility>

namespace crust {

namespace {

using self_pointer
  = bootstrap_manager_actor::stateful_pointer<bootstrap_manager_state>;

/// Extra time a dial request may take beyond the budget: the budget timer
/// always fires first and decides the outcome.
constexpr auto dial_timeout_slack = std::chrono::seconds{1};

bool is_code(const caf::error& err, errc code) {
  return err && err.category() == error_category
         && err.code() == static_cast<uint8_t>(code);
}

caf::error make_failure(errc code, std::string detail) {
  return to_error(failure{code, std::move(detail)});
}

/// The error as a sentence for logs: crust's own text for crust errors.
std::string describe(const caf::error& err) {
  if (err && err.category() == error_category)
    return render_error(err.code(), err.category(), err.context());
  return to_string(err);
}

/// Dial order: cache entries first, then LAN answers, then contacts.
int rank(candidate_source x) {
  switch (x) {
    case candidate_source::cache: return 0;
    case candidate_source::lan: return 1;
    case candidate_source::contact: return 2;
    case candidate_source::gossip: return 3;
  }
  return 4;
}

caf::timespan remaining_budget(self_pointer self,
                               caf::actor_clock::time_point deadline) {
  auto now = self->clock().now();
  return deadline > now ? caf::timespan{deadline - now} : caf::timespan{0};
}

/// When the current run's budget ends; handed to every continuation.
struct run_clock {
  caf::actor_clock::time_point deadline;
};

void finish(self_pointer self, const caf::error& reason);
void pump(self_pointer self, const run_clock& clock);

/// True if the candidate's peer or all of its addresses are banned; drops
/// the banned addresses from `c`.
bool filter_banned(const bootstrap_manager_state& st, bootstrap_candidate& c) {
  if (st.banned_peers.count(c.peer) != 0)
    return true;
  if (st.banned_addresses.empty())
    return false;
  std::vector<std::string> kept;
  for (auto& text : c.endpoints) {
    auto ep = endpoint::parse(text);
    if (!ep)
      continue;
    auto addr = canonical_address(ep->ip.to_string());
    if (addr && st.banned_addresses.count(*addr) != 0)
      continue;
    kept.push_back(std::move(text));
  }
  c.endpoints = std::move(kept);
  return c.endpoints.empty();
}

/// Adds one candidate to the report and the dial queue (or merges it into
/// a queued candidate of the same peer).
void add_candidate(self_pointer self, bootstrap_candidate c) {
  auto& st = self->state;
  if (c.peer.is_zero() || c.peer == st.config.self || c.endpoints.empty())
    return;
  auto& all = st.report.candidates;
  auto known = std::find_if(all.begin(), all.end(), [&](const auto& x) {
    return x.candidate.peer == c.peer;
  });
  if (known != all.end()) {
    // A peer found twice keeps its first source; a queued one gains the
    // new addresses.
    if (known->status == candidate_status::not_tried) {
      auto& eps = known->candidate.endpoints;
      for (auto& text : c.endpoints)
        if (std::find(eps.begin(), eps.end(), text) == eps.end())
          eps.push_back(text);
      filter_banned(st, known->candidate);
    }
    return;
  }
  candidate_report entry;
  if (filter_banned(st, c)) {
    entry.status = candidate_status::banned;
    entry.reason = caf::error{errc::banned};
  }
  entry.candidate = std::move(c);
  all.push_back(std::move(entry));
  if (all.back().status == candidate_status::banned)
    return;
  auto index = all.size() - 1;
  auto r = rank(all.back().candidate.source);
  auto pos = std::find_if(st.queue.begin(), st.queue.end(), [&](size_t i) {
    return rank(all[i].candidate.source) > r;
  });
  st.queue.insert(pos, index);
}

/// Ends the run if nothing is left to try or to wait for.
void finish_if_exhausted(self_pointer self, const caf::error& last_failure) {
  auto& st = self->state;
  if (!st.running || st.gathering > 0 || st.dialling > 0 || !st.queue.empty()
      || !st.held.empty())
    return;
  if (last_failure) {
    finish(self, last_failure);
    return;
  }
  auto banned = std::count_if(st.report.candidates.begin(),
                              st.report.candidates.end(), [](const auto& x) {
                                return x.status == candidate_status::banned;
                              });
  finish(self, banned == 0 ? caf::error{errc::no_candidates}
                           : make_failure(errc::no_candidates,
                                          std::to_string(banned)
                                            + " banned candidate(s)"));
}

/// One source answered: counts it, releases held candidates once the filter
/// and the cache are known, dials, and ends the run if nothing is left.
void source_done(self_pointer self, const run_clock& clock) {
  auto& st = self->state;
  --st.gathering;
  if (st.filter_ready && !st.held.empty()) {
    auto held = std::move(st.held);
    st.held.clear();
    std::stable_sort(held.begin(), held.end(),
                     [](const auto& x, const auto& y) {
                       return rank(x.source) < rank(y.source);
                     });
    for (auto& c : held)
      add_candidate(self, std::move(c));
  }
  pump(self, clock);
  finish_if_exhausted(self, caf::error{});
}

/// Adds candidates now, or holds them until the filter and cache are in.
void offer(self_pointer self, std::vector<bootstrap_candidate> found) {
  auto& st = self->state;
  for (auto& c : found) {
    if (st.filter_ready)
      add_candidate(self, std::move(c));
    else
      st.held.push_back(std::move(c));
  }
}

void on_dial_failed(self_pointer self, const run_clock& clock, uint64_t run,
                    size_t index, caf::error err) {
  auto& st = self->state;
  auto& entry = st.report.candidates[index];
  if (run != st.run || !st.running
      || entry.status != candidate_status::dialling)
    return;
  --st.dialling;
  entry.status = candidate_status::failed;
  entry.reason = err;
  log::debug("bootstrap: candidate {} failed: {}",
             entry.candidate.peer.short_hex(), describe(err));
  // A peer that fails or denies us is no use as a cached candidate.
  if (st.config.cache)
    self->send(st.config.cache, atom::remove_v, entry.candidate.peer);
  if (st.config.stop_on_unreachable && is_code(err, errc::not_reachable)) {
    finish(self, std::move(err));
    return;
  }
  pump(self, clock);
  finish_if_exhausted(self, entry.reason);
}

void on_granted(self_pointer self, uint64_t run, size_t index,
                const bootstrap_connect& grant) {
  auto& st = self->state;
  auto& entry = st.report.candidates[index];
  if (run != st.run || !st.running
      || entry.status != candidate_status::dialling) {
    // Won after the run ended (or was cancelled): close it again.
    self->send(st.config.dialer, atom::cancel_v, grant.peer);
    return;
  }
  --st.dialling;
  entry.status = candidate_status::granted;
  st.report.peer = grant.peer;
  st.report.remote = grant.remote;
  st.report.source = entry.candidate.source;
  // Hard-coded contacts never enter the cache.
  if (st.config.cache && entry.candidate.source != candidate_source::contact)
    self->send(st.config.cache, atom::put_v, grant.peer,
               entry.candidate.endpoints);
  finish(self, caf::error{});
}

void dial(self_pointer self, const run_clock& clock, size_t index) {
  auto& st = self->state;
  auto& entry = st.report.candidates[index];
  entry.status = candidate_status::dialling;
  ++st.dialling;
  auto run = st.run;
  self
    ->request(st.config.dialer,
              remaining_budget(self, clock.deadline) + dial_timeout_slack,
              atom::dial_v, entry.candidate)
    .then(
      [self, run, index](bootstrap_connect& grant) {
        on_granted(self, run, index, grant);
      },
      [self, clock, run, index](caf::error& err) {
        on_dial_failed(self, clock, run, index, std::move(err));
      });
}

void pump(self_pointer self, const run_clock& clock) {
  auto& st = self->state;
  while (st.running && st.filter_ready
         && st.dialling < st.config.max_concurrent_dials && !st.queue.empty()) {
    auto index = st.queue.front();
    st.queue.erase(st.queue.begin());
    dial(self, clock, index);
  }
}

void finish(self_pointer self, const caf::error& reason) {
  auto& st = self->state;
  st.running = false;
  auto won = !reason;
  for (auto& entry : st.report.candidates) {
    if (entry.status != candidate_status::dialling)
      continue;
    self->send(st.config.dialer, atom::cancel_v, entry.candidate.peer);
    entry.status = candidate_status::cancelled;
    entry.reason = won ? make_failure(errc::cancelled, "another peer won")
                       : reason;
  }
  st.dialling = 0;
  st.queue.clear();
  st.held.clear();
  st.report.reason = reason;
  if (won)
    log::info("bootstrap: connected to {} at {} ({})",
              st.report.peer.short_hex(), st.report.remote,
              to_string(st.report.source));
  else
    log::info("bootstrap failed: {}", describe(reason));
  st.promise.deliver(st.report);
}

std::vector<bootstrap_candidate> to_candidates(std::vector<cached_peer> xs) {
  std::vector<bootstrap_candidate> out;
  out.reserve(xs.size());
  for (auto& x : xs)
    out.push_back(bootstrap_candidate{x.peer, std::move(x.endpoints),
                                      candidate_source::cache});
  return out;
}

std::vector<bootstrap_candidate> to_candidates(std::vector<beacon_peer> xs) {
  std::vector<bootstrap_candidate> out;
  out.reserve(xs.size());
  for (auto& x : xs)
    out.push_back(bootstrap_candidate{x.peer, std::move(x.endpoints),
                                      candidate_source::lan});
  return out;
}

/// The contacts of the configuration as candidates, or why one is bad.
expected<std::vector<bootstrap_candidate>>
parse_contacts(const std::vector<std::string>& texts) {
  std::vector<bootstrap_candidate> out;
  for (const auto& text : texts) {
    auto c = contact::parse(text);
    if (!c)
      return failure{errc::invalid_config, "bootstrap contact '" + text
                                             + "': " + c.error().message()};
    auto known = std::find_if(out.begin(), out.end(), [&](const auto& x) {
      return x.peer == c->id;
    });
    if (known != out.end())
      known->endpoints.push_back(c->addr.to_string());
    else
      out.push_back(bootstrap_candidate{
        c->id, {c->addr.to_string()}, candidate_source::contact});
  }
  return out;
}

/// Starts a run: arms the budget, asks every source, dials what is known.
void start_run(self_pointer self,
               const std::vector<bootstrap_candidate>& contacts) {
  auto& st = self->state;
  ++st.run;
  st.running = true;
  st.report = bootstrap_report{};
  st.queue.clear();
  st.held.clear();
  st.dialling = 0;
  st.banned_peers.clear();
  st.banned_addresses.clear();
  st.seed = st.config.shuffle_seed ? *st.config.shuffle_seed
                                   : std::random_device{}();
  run_clock clock{self->clock().now() + st.config.budget};
  auto run = st.run;
  self->delayed_send(self, st.config.budget, atom::timeout_v, atom::bootstrap_v,
                     run);
  auto wait = st.config.budget + dial_timeout_slack;
  // Nobody is dialled before the blacklist and the cache answered, so that
  // banned peers stay out and cached peers go first.
  st.gathering = 1; // released at the end of this function
  st.filter_ready = !st.config.blacklist && !st.config.cache;
  // The sources the filter waits for; the last one to answer releases it.
  auto pending = std::make_shared<size_t>((st.config.blacklist ? 1 : 0)
                                          + (st.config.cache ? 1 : 0));
  auto part_done = [self, run, clock, pending] {
    auto& s = self->state;
    if (run != s.run || !s.running)
      return;
    if (--*pending == 0)
      s.filter_ready = true;
    source_done(self, clock);
  };
  if (st.config.blacklist) {
    ++st.gathering;
    self->request(st.config.blacklist, wait, atom::list_v)
      .then(
        [self, run, part_done](ban_list& bans) {
          auto& s = self->state;
          if (run == s.run && s.running) {
            for (auto& x : bans.peers)
              s.banned_peers.insert(x.peer);
            for (auto& x : bans.addresses)
              s.banned_addresses.insert(x.address);
          }
          part_done();
        },
        [part_done](caf::error& err) {
          log::warn("bootstrap: blacklist did not answer: {}", describe(err));
          part_done();
        });
  }
  if (st.config.cache) {
    ++st.gathering;
    self->request(st.config.cache, wait, atom::get_v, atom::peers_v)
      .then(
        [self, run, part_done](std::vector<cached_peer>& peers) {
          if (run == self->state.run && self->state.running)
            offer(self, to_candidates(std::move(peers)));
          part_done();
        },
        [part_done](caf::error& err) {
          log::warn("bootstrap: cache did not answer: {}", describe(err));
          part_done();
        });
  }
  if (st.config.beacon) {
    ++st.gathering;
    self->request(st.config.beacon, wait, atom::discover_v)
      .then(
        [self, run, clock](std::vector<beacon_peer>& peers) {
          if (run != self->state.run || !self->state.running)
            return;
          offer(self, to_candidates(std::move(peers)));
          source_done(self, clock);
        },
        [self, run, clock](caf::error& err) {
          if (run != self->state.run || !self->state.running)
            return;
          log::debug("bootstrap: LAN discovery failed: {}", describe(err));
          source_done(self, clock);
        });
  }
  auto shuffled = contacts;
  std::mt19937_64 rng{st.seed};
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  offer(self, std::move(shuffled));
  source_done(self, clock);
}

} // namespace

bootstrap_manager_actor::behavior_type bootstrap_manager(
  bootstrap_manager_actor::stateful_pointer<bootstrap_manager_state> self,
  bootstrap_manager_config config) {
  auto fail = [self](std::string detail) {
    self->quit(make_failure(errc::invalid_config,
                            "bootstrap manager: " + std::move(detail)));
    return bootstrap_manager_actor::behavior_type::make_empty_behavior();
  };
  if (!config.dialer)
    return fail("no dialer");
  if (config.budget <= caf::timespan{0})
    return fail("the budget must be positive");
  if (config.max_concurrent_dials == 0)
    return fail("the dial cap must be positive");
  auto contacts = parse_contacts(config.contacts);
  if (!contacts) {
    self->quit(to_error(contacts.error()));
    return bootstrap_manager_actor::behavior_type::make_empty_behavior();
  }
  self->state.config = std::move(config);
  return {
    [self, contacts = std::move(*contacts)](
      atom::bootstrap) -> caf::result<bootstrap_report> {
      auto& st = self->state;
      if (st.running)
        return caf::error{errc::bootstrap_running};
      st.promise = self->make_response_promise();
      start_run(self, contacts);
      return caf::delegated<bootstrap_report>{};
    },
    [self](atom::stop, atom::bootstrap) {
      if (!self->state.running)
        return false;
      finish(self, make_failure(errc::cancelled, "bootstrap stopped"));
      return true;
    },
    [self](atom::get, atom::report) {
      return self->state.report;
    },
    [self](atom::timeout, atom::bootstrap, uint64_t run) {
      auto& st = self->state;
      if (run != st.run || !st.running)
        return;
      finish(self, caf::error{errc::bootstrap_timeout});
    },
  };
}

} // namespace crust
