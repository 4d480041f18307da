#include "crust/transport/rudp/connection.hpp"

#include "crust/transport/noise/channel_handshake.hpp"
#include "crust/transport/rudp/loss_detector.hpp"
#include "crust/transport/rudp/mtu_prober.hpp"
#include "crust/transport/rudp/pacer.hpp"
#include "crust/transport/rudp/packet_format.hpp"
#include "crust/transport/rudp/range_set.hpp"
#include "crust/transport/rudp/receive_stream.hpp"
#include "crust/transport/rudp/send_stream.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <string>
#include <utility>
#include <vector>

namespace crust::rudp {

std::string_view to_string(connection_state x) noexcept {
  switch (x) {
    case connection_state::handshaking: return "handshaking";
    case connection_state::established: return "established";
    case connection_state::closing: return "closing";
    case connection_state::draining: return "draining";
    case connection_state::closed: return "closed";
  }
  return "unknown";
}

namespace {

/// Received packet-number ranges kept for ACK frames: older gaps have been
/// reported often enough.
constexpr size_t max_tracked_ranges = 32;

/// Most bytes an ACK frame takes in a packet that also carries data.
constexpr size_t ack_budget = 160;

/// Worst-case STREAM frame header: type, 8-byte offset, 2-byte length.
constexpr size_t max_stream_header = 11;

/// The stream keeps this many datagrams' worth of unsent bytes; the rest
/// waits in the send queue, where priorities still decide the order.
constexpr size_t unsent_target_packets = 4;

/// Probes sent when a PTO fires (RFC 9002 section 6.2.4 allows two).
constexpr unsigned probes_per_pto = 2;

/// CLOSE frames a graceful close sends before it gives up waiting for the
/// acknowledgement: every byte was acknowledged already, only the peer's
/// notice is missing, and a peer that drained its connection stays silent.
constexpr unsigned max_close_attempts = 5;

/// Consecutive PTOs after which the path counts as persistently congested
/// (a simplification of RFC 9002 section 7.6's duration test).
constexpr unsigned persistent_congestion_ptos = 3;

uint64_t random_connection_id() {
  uint64_t id = 0;
  while (id == no_connection_id) {
    uint8_t bytes[8];
    if (!noise::random_bytes(bytes, sizeof(bytes)))
      return 0;
    for (auto b : bytes)
      id = (id << 8) | b;
  }
  return id;
}

template<class T>
void keep_min(std::optional<time_point>& acc, const std::optional<T>& t) {
  if (t && (!acc || *t < *acc))
    acc = *t;
}

} // namespace

struct connection::impl {
  explicit impl(connection_config config, time_point now)
    : cfg(std::move(config)), side(cfg.channel.side), created(now),
      queue(cfg.queue), in_stream(cfg.queue.max_message_size),
      loss(cfg.initial_rtt, cfg.max_ack_delay),
      cc(make_congestion_controller(cfg.congestion, cfg.base_mtu)),
      mtu(cfg.base_mtu, cfg.max_mtu, cfg.mtu_probing), last_received(now),
      last_eliciting_sent(now) {
    hs_rto = loss.rtt().pto(cfg.max_ack_delay);
  }

  // -- state ---------------------------------------------------------------

  connection_config cfg;
  noise::role side;
  connection_state state = connection_state::handshaking;
  uint64_t local_id = 0;
  uint64_t remote_id = 0;
  time_point created;

  std::optional<noise::channel_handshake> hs;
  /// Initiator: the peer proved it holds the keys (an authenticated packet
  /// arrived), so message 3 no longer needs retransmitting.
  bool confirmed = false;
  time_point hs_retransmit_at;
  duration hs_rto;
  time_point hs_first_sent;
  bool hs_retransmitted = false;
  std::unique_ptr<packet_protection> protection;
  std::optional<noise::key32> peer;

  /// Datagrams ready before anything else: handshake envelopes, refusals,
  /// the CLOSE of an abort.
  std::deque<byte_buffer> ready;

  codec::send_queue queue;
  send_stream out_stream;
  receive_stream in_stream;
  loss_detector loss;
  std::unique_ptr<congestion_controller> cc;
  pacer pace;
  mtu_prober mtu;

  // Acknowledgements we owe.
  range_set received;
  std::optional<uint64_t> largest_received;
  time_point largest_received_at;
  unsigned unacked_eliciting = 0;
  bool ack_now = false;
  std::optional<time_point> ack_deadline;

  // Flow control.
  uint64_t peer_max_data = initial_flow_credit;
  uint64_t local_max_data = initial_flow_credit;
  bool max_data_pending = false;

  unsigned probes_pending = 0;
  bool ping_pending = false;
  bool close_pending = false;
  bool close_sent = false;
  unsigned close_attempts = 0;
  std::optional<time_point> drain_until;

  time_point last_received;
  time_point last_eliciting_sent;

  std::deque<event> events;
  connection_stats stats;
  byte_buffer plain;
  std::vector<stream_message> messages;

  // -- helpers -------------------------------------------------------------

  bool initiator() const noexcept {
    return side == noise::role::initiator;
  }

  void queue_handshake(const_byte_span envelope) {
    byte_buffer pkt;
    write_handshake_packet(remote_id, local_id, envelope, pkt);
    ready.push_back(std::move(pkt));
  }

  void report_drops(codec::drop_report rep) {
    if (!rep.empty())
      events.push_back(dropped_event{std::move(rep)});
  }

  /// Ends the connection locally (no CLOSE frame) with `reason`.
  void finish(failure reason) {
    if (state == connection_state::closed)
      return;
    state = connection_state::closed;
    hs.reset();
    events.push_back(closed_event{std::move(reason), queue.clear()});
  }

  void abort(failure reason, time_point) {
    if (state == connection_state::closed)
      return;
    if (protection
        && (state == connection_state::established
            || state == connection_state::closing)) {
      byte_buffer frames;
      write_close_frame(static_cast<uint8_t>(reason.code), reason.detail,
                        frames);
      byte_buffer pkt;
      write_data_header(remote_id, pkt);
      auto hdr_len = pkt.size();
      byte_buffer ad(pkt.begin(), pkt.end());
      if (protection->seal(ad, frames, pkt) && pkt.size() > hdr_len)
        ready.push_back(std::move(pkt));
    }
    finish(std::move(reason));
  }

  void on_handshake_packet(const packet_header& hdr, time_point now);
  void on_data_packet(const packet_header& hdr, time_point now);
  void establish(time_point now);
  void on_ack_frame(const ack_frame& ack, time_point now);
  void on_lost(loss_result& res, time_point now);
  void on_pto(time_point now);
  void refill_stream(time_point now);
  bool build_packet(time_point now, byte_buffer& out);
  bool build_ack_only(time_point now, byte_buffer& out);
  bool seal_and_record(time_point now, sent_packet pkt, bool app_limited,
                       byte_buffer& out);
  void write_ack(time_point now, size_t budget);
  bool wants_eliciting() const;
  std::optional<time_point> next_timeout() const;
  void on_timeout(time_point now);
};

// -- receiving ---------------------------------------------------------------

void connection::impl::on_handshake_packet(const packet_header& hdr,
                                           time_point now) {
  bool addressed_to_us = hdr.destination_id == local_id
                         || (!initiator()
                             && hdr.destination_id == no_connection_id);
  if (!addressed_to_us || (remote_id != 0 && hdr.source_id != remote_id)) {
    ++stats.dropped_wrong_connection;
    return;
  }
  // An envelope whose header disagrees with the datagram would poison the
  // handshake for good (docs/wire-protocol.md section 8): drop it first.
  auto body = hdr.body;
  if (body.size() < noise::envelope_header_len
      || noise::envelope_header_len + ((size_t{body[2]} << 8) | body[3])
           != body.size()
      || (body[1] != static_cast<uint8_t>(noise::envelope_kind::handshake)
          && body[1] != static_cast<uint8_t>(noise::envelope_kind::refusal))) {
    ++stats.dropped_malformed;
    return;
  }
  if (state != connection_state::handshaking) {
    if (initiator() && !confirmed && hs) {
      // The peer repeats message 2: our message 3 was lost. The handshake
      // answers a byte-identical copy with message 3 again.
      byte_buffer reply;
      if (hs->on_datagram(body, reply) && !reply.empty()) {
        queue_handshake(reply);
        ++stats.handshake_retransmissions;
        return;
      }
    }
    ++stats.dropped_unexpected;
    return;
  }
  if (!hs) {
    ++stats.dropped_unexpected;
    return;
  }
  remote_id = hdr.source_id;
  byte_buffer reply;
  auto st = hs->on_datagram(body, reply);
  if (!reply.empty())
    queue_handshake(reply);
  if (!st) {
    finish(st.error());
    return;
  }
  if (initiator() && !hs_retransmitted)
    loss.on_rtt_sample(now - hs_first_sent);
  last_received = now;
  if (hs->done())
    establish(now);
}

void connection::impl::establish(time_point now) {
  auto res = hs->finish();
  if (!res) {
    finish(res.error());
    return;
  }
  peer = res->remote_static;
  protection = cfg.protection ? cfg.protection(std::move(res->keys))
                              : make_aead_protection(std::move(res->keys));
  state = connection_state::established;
  events.push_back(connected_event{res->remote_static});
  last_received = now;
  last_eliciting_sent = now;
  local_max_data = cfg.receive_window;
  max_data_pending = true;
  if (!initiator()) {
    // Tell the initiator at once that message 3 arrived.
    ping_pending = true;
    hs.reset();
  }
}

void connection::impl::on_data_packet(const packet_header& hdr,
                                      time_point now) {
  if (hdr.destination_id != local_id) {
    ++stats.dropped_wrong_connection;
    return;
  }
  if (!protection) {
    ++stats.dropped_unexpected;
    return;
  }
  plain.clear();
  auto pn = protection->open(hdr.header_bytes, hdr.body, plain);
  if (!pn) {
    switch (pn.error().code) {
      case errc::decrypt_failed: ++stats.dropped_decrypt_failed; break;
      case errc::replayed_packet:
      case errc::packet_too_old: ++stats.dropped_replayed; break;
      default: ++stats.dropped_malformed; break;
    }
    return;
  }
  auto frames = parse_frames(plain);
  if (!frames) {
    // Authenticated yet malformed: the peer itself breaks the protocol.
    abort(frames.error(), now);
    return;
  }
  ++stats.packets_received;
  last_received = now;
  if (initiator() && !confirmed) {
    confirmed = true;
    hs.reset();
  }
  auto number = *pn;
  received.insert(number, number + 1);
  received.keep_highest(max_tracked_ranges);
  bool out_of_order = largest_received
                      && (number < *largest_received
                          || number > *largest_received + 1);
  if (!largest_received || number > *largest_received) {
    largest_received = number;
    largest_received_at = now;
  }
  if (frames->ack_eliciting) {
    ++unacked_eliciting;
    if (out_of_order || unacked_eliciting >= cfg.ack_every)
      ack_now = true;
    else if (!ack_deadline)
      ack_deadline = now + cfg.max_ack_delay;
  }
  if (state == connection_state::draining)
    return; // only acknowledgements from now on
  if (frames->ack)
    on_ack_frame(*frames->ack, now);
  if (state == connection_state::closed)
    return;
  if (frames->max_data)
    peer_max_data = std::max(peer_max_data, *frames->max_data);
  for (const auto& sf : frames->streams) {
    if (sf.offset + sf.data.size() > local_max_data) {
      abort({errc::malformed_message,
             "the peer sent stream bytes beyond the flow-control limit"},
            now);
      return;
    }
    messages.clear();
    auto st = in_stream.on_data(sf.offset, sf.data, messages);
    for (auto& m : messages) {
      ++stats.messages_received;
      events.push_back(message_event{m.prio, std::move(m.payload)});
    }
    if (!st) {
      abort(st.error(), now);
      return;
    }
  }
  auto limit = in_stream.contiguous() + cfg.receive_window;
  if (limit > local_max_data
      && limit - local_max_data >= cfg.receive_window / 4) {
    local_max_data = limit;
    max_data_pending = true;
  }
  if (frames->close) {
    std::string text = "the peer closed the connection";
    if (!frames->close->text.empty())
      text += ": " + frames->close->text;
    // A refusal keeps its reason, as TCP's close codes do; any other code
    // is the peer closing.
    auto ec = errc::peer_closed;
    switch (auto code = static_cast<errc>(frames->close->code); code) {
      case errc::banned:
      case errc::not_whitelisted:
      case errc::duplicate_connection:
      case errc::rate_exceeded: ec = code; break;
      default: break;
    }
    state = connection_state::draining;
    drain_until = now + 3 * loss.rtt().pto(cfg.max_ack_delay);
    ack_now = true;
    events.push_back(closed_event{{ec, text}, queue.clear()});
  }
}

void connection::impl::on_ack_frame(const ack_frame& ack, time_point now) {
  auto res = loss.on_ack(ack, now);
  bool close_acked = false;
  for (auto& pkt : res.acked) {
    for (auto r : pkt.ranges)
      out_stream.on_acked(r);
    if (pkt.mtu_probe)
      mtu.on_probe_acked(pkt.size);
    if (pkt.carries_close)
      close_acked = true;
  }
  if (res.sample)
    cc->on_ack(*res.sample, loss.rtt());
  on_lost(res, now);
  if (close_acked && state == connection_state::closing)
    finish({});
}

void connection::impl::on_lost(loss_result& res, time_point now) {
  auto largest = loss.largest_acked().value_or(0);
  for (auto& pkt : res.lost) {
    if (pkt.mtu_probe) {
      mtu.on_probe_lost(pkt.size);
      continue;
    }
    ++stats.packets_lost;
    if (largest - pkt.number < loss_detector::packet_threshold)
      ++stats.packets_lost_by_time;
    for (auto r : pkt.ranges)
      out_stream.on_lost(r);
    if (pkt.carries_max_data)
      max_data_pending = true;
    if (pkt.carries_close && state == connection_state::closing)
      close_pending = true;
  }
  if (close_pending && close_attempts >= max_close_attempts) {
    finish({});
    return;
  }
  if (res.lost_bytes > 0)
    cc->on_loss(now, res.largest_lost_sent_time, res.lost_bytes,
                loss.bytes_in_flight());
}

// -- timers ------------------------------------------------------------------

void connection::impl::on_pto(time_point now) {
  ++stats.probe_timeouts;
  auto n = loss.on_pto();
  probes_pending = probes_per_pto;
  if (n == persistent_congestion_ptos)
    cc->on_persistent_congestion(now);
  if (state == connection_state::closing && close_sent) {
    // Nothing but the CLOSE is outstanding: send it again, or give up.
    if (close_attempts >= max_close_attempts) {
      finish({});
      return;
    }
    close_pending = true;
  }
  if (initiator() && !confirmed && hs) {
    // Perhaps message 3 was lost: data cannot be read without it.
    queue_handshake(hs->last_envelope());
    ++stats.handshake_retransmissions;
  }
  if (!out_stream.has_pending(peer_max_data))
    if (const auto* oldest = loss.oldest_unacked())
      for (auto r : oldest->ranges)
        out_stream.on_lost(r); // the probe carries the oldest data again
}

void connection::impl::on_timeout(time_point now) {
  switch (state) {
    case connection_state::closed: return;
    case connection_state::handshaking:
      if (now >= created + cfg.handshake_timeout) {
        finish({errc::handshake_timeout,
                "no handshake within "
                  + std::to_string(
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                      cfg.handshake_timeout)
                      .count())
                  + " ms"});
        return;
      }
      if (initiator() && hs && !hs->done() && now >= hs_retransmit_at) {
        queue_handshake(hs->last_envelope());
        ++stats.handshake_retransmissions;
        hs_retransmitted = true;
        hs_rto *= 2;
        hs_retransmit_at = now + hs_rto;
      }
      return;
    case connection_state::draining:
      if (drain_until && now >= *drain_until) {
        state = connection_state::closed;
        drain_until.reset();
      }
      return;
    case connection_state::established:
    case connection_state::closing: break;
  }
  if (now >= last_received + cfg.idle_timeout) {
    finish(
      {errc::peer_silent,
       "no authenticated packet for "
         + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                            cfg.idle_timeout)
                            .count())
         + " ms"});
    return;
  }
  report_drops(queue.expire(now));
  if (ack_deadline && *ack_deadline <= now)
    ack_now = true;
  if (now >= last_eliciting_sent + cfg.keepalive_interval)
    ping_pending = true;
  if (auto t = loss.next_timer(); t && *t <= now) {
    if (loss.pto_due(now)) {
      on_pto(now);
    } else {
      auto res = loss.detect_lost(now);
      on_lost(res, now);
    }
  }
}

bool connection::impl::wants_eliciting() const {
  return out_stream.has_pending(peer_max_data) || !queue.empty()
         || max_data_pending || close_pending || ping_pending
         || probes_pending > 0;
}

std::optional<time_point> connection::impl::next_timeout() const {
  std::optional<time_point> t;
  if (!ready.empty())
    return created; // datagrams wait: a time in the past means "poll now"
  switch (state) {
    case connection_state::closed: return std::nullopt;
    case connection_state::handshaking:
      keep_min(t, std::optional<time_point>{created + cfg.handshake_timeout});
      if (initiator() && hs && !hs->done())
        keep_min(t, std::optional<time_point>{hs_retransmit_at});
      return t;
    case connection_state::draining: return drain_until;
    case connection_state::established:
    case connection_state::closing: break;
  }
  keep_min(t, std::optional<time_point>{last_received + cfg.idle_timeout});
  if (!ping_pending) // once due, it waits for a packet to carry it
    keep_min(t, std::optional<time_point>{last_eliciting_sent
                                          + cfg.keepalive_interval});
  keep_min(t, ack_deadline);
  keep_min(t, loss.next_timer());
  keep_min(t, queue.next_expiry());
  if (wants_eliciting() && pace.blocked()
      && loss.bytes_in_flight() + mtu.current() <= cc->window())
    keep_min(t, std::optional<time_point>{pace.release_time()});
  return t;
}

// -- sending -----------------------------------------------------------------

void connection::impl::refill_stream(time_point now) {
  auto target = unsent_target_packets * mtu.current();
  while (out_stream.unsent_bytes() < target && !queue.empty()) {
    codec::drop_report rep;
    auto msg = queue.pop(now, rep);
    report_drops(std::move(rep));
    if (!msg)
      break;
    out_stream.append(msg->prio, std::move(msg->payload));
    ++stats.messages_sent;
  }
}

void connection::impl::write_ack(time_point now, size_t budget) {
  if (received.empty())
    return;
  auto delay = std::chrono::duration_cast<std::chrono::microseconds>(
                 now - largest_received_at)
                 .count();
  if (write_ack_frame(received,
                      static_cast<uint64_t>(std::max<int64_t>(delay, 0)),
                      budget, plain)) {
    ack_now = false;
    ack_deadline.reset();
    unacked_eliciting = 0;
  }
}

bool connection::impl::seal_and_record(time_point now, sent_packet pkt,
                                       bool app_limited, byte_buffer& out) {
  out.clear();
  out.reserve(data_packet_overhead + plain.size()); // one allocation
  write_data_header(remote_id, out);
  pkt.number = protection->next_packet_number();
  // The header is the additional data; copied because `out` grows.
  std::array<uint8_t, data_header_len> ad;
  std::copy(out.begin(), out.end(), ad.begin());
  if (auto st = protection->seal(ad, plain, out); !st) {
    out.clear();
    abort(st.error(), now);
    return false;
  }
  pkt.sent_time = now;
  pkt.size = out.size();
  ++stats.packets_sent;
  ++stats.datagrams_sent;
  stats.bytes_sent += out.size();
  if (pkt.ack_eliciting) {
    last_eliciting_sent = now;
    if (pkt.in_flight) {
      cc->on_packet_sent(now, pkt.size, loss.bytes_in_flight() + pkt.size);
      if (probes_pending == 0)
        pace.on_sent(pkt.size);
    }
    if (probes_pending > 0)
      --probes_pending;
    loss.on_sent(std::move(pkt), app_limited);
  }
  return true;
}

bool connection::impl::build_ack_only(time_point now, byte_buffer& out) {
  if (!ack_now || received.empty())
    return false;
  plain.clear();
  write_ack(now, mtu.current() - data_packet_overhead);
  if (plain.empty())
    return false;
  return seal_and_record(now, sent_packet{}, false, out);
}

bool connection::impl::build_packet(time_point now, byte_buffer& out) {
  if (state == connection_state::closing && !close_sent && queue.empty()
      && out_stream.all_acked()) {
    close_pending = true;
    close_sent = true;
  }
  auto size = mtu.current();
  bool probe = probes_pending > 0;
  bool cwnd_ok = loss.bytes_in_flight() + size <= cc->window();
  auto rate = cc->pacing_rate(loss.rtt());
  auto burst_bytes = std::max(
    static_cast<double>(cfg.pacing_burst_packets * size),
    rate * std::chrono::duration<double>(cfg.pacing_burst_time).count());
  pace.configure(rate, static_cast<size_t>(burst_bytes));
  bool may_elicit = probe || (cwnd_ok && pace.can_send(now, size));
  bool want_ack = ack_now || (ack_deadline && *ack_deadline <= now);
  if (may_elicit)
    refill_stream(now);
  // An MTU probe: PING and padding up to the size tried.
  // (An initiator waits for the confirmation: a probe the responder cannot
  // read yet would count as a failure of that size.)
  if (may_elicit && !probe && state == connection_state::established
      && (!initiator() || confirmed)) {
    if (auto probe_size = mtu.wanted()) {
      plain.clear();
      if (want_ack || unacked_eliciting > 0)
        write_ack(now, ack_budget);
      plain.push_back(static_cast<uint8_t>(frame_type::ping));
      plain.resize(*probe_size - data_packet_overhead, 0);
      sent_packet pkt;
      pkt.ack_eliciting = true;
      pkt.mtu_probe = true;
      mtu.on_probe_sent(*probe_size);
      ++stats.mtu_probes_sent;
      return seal_and_record(now, std::move(pkt), false, out);
    }
  }
  bool want_elicit = may_elicit && wants_eliciting();
  if (!want_ack && !want_elicit)
    return false;
  plain.clear();
  auto budget = size - data_packet_overhead;
  if (!received.empty() && (want_ack || unacked_eliciting > 0))
    write_ack(now, std::min(ack_budget, budget));
  sent_packet pkt;
  if (want_elicit) {
    if (max_data_pending) {
      write_max_data_frame(local_max_data, plain);
      pkt.carries_max_data = true;
      max_data_pending = false;
    }
    if (close_pending) {
      write_close_frame(0, "", plain);
      pkt.carries_close = true;
      close_pending = false;
      ++close_attempts;
    }
    while (plain.size() + max_stream_header + 1 < budget) {
      auto before = out_stream.sent_end();
      auto range = out_stream.take(budget - plain.size() - max_stream_header,
                                   peer_max_data);
      if (!range)
        break;
      write_stream_frame_header(range->offset, range->length, plain);
      out_stream.copy(*range, plain);
      if (range->offset < before)
        stats.stream_bytes_retransmitted += range->length;
      else
        stats.stream_bytes_sent += range->length;
      pkt.ranges.push_back(*range);
    }
    bool elicits = pkt.carries_max_data || pkt.carries_close
                   || !pkt.ranges.empty();
    if (!elicits && (ping_pending || probe)) {
      plain.push_back(static_cast<uint8_t>(frame_type::ping));
      elicits = true;
    }
    ping_pending = false;
    pkt.ack_eliciting = elicits;
    pkt.in_flight = elicits;
  }
  if (plain.empty())
    return false;
  bool app_limited = queue.empty() && !out_stream.has_pending(peer_max_data);
  return seal_and_record(now, std::move(pkt), app_limited, out);
}

// -- connection --------------------------------------------------------------

connection::connection(std::unique_ptr<impl> ptr) noexcept
  : impl_(std::move(ptr)) {
  // nop
}

connection::connection(connection&&) noexcept = default;

connection& connection::operator=(connection&&) noexcept = default;

connection::~connection() = default;

expected<connection> connection::create(connection_config cfg, time_point now) {
  if (auto st = validate(cfg); !st)
    return st.error();
  auto local_id = cfg.local_id != no_connection_id ? cfg.local_id
                                                   : random_connection_id();
  if (local_id == no_connection_id)
    return failure{errc::crypto_failure, "no random connection id"};
  auto hs = noise::channel_handshake::create(cfg.channel);
  if (!hs)
    return hs.error();
  auto d = std::make_unique<impl>(std::move(cfg), now);
  d->local_id = local_id;
  d->hs.emplace(std::move(*hs));
  if (d->initiator()) {
    byte_buffer envelope;
    if (auto st = d->hs->start(envelope); !st)
      return st.error();
    d->queue_handshake(envelope);
    d->hs_first_sent = now;
    d->hs_retransmit_at = now + d->hs_rto;
  }
  return connection{std::move(d)};
}

void connection::on_datagram(const_byte_span datagram, time_point now) {
  auto& d = *impl_;
  ++d.stats.datagrams_received;
  d.stats.bytes_received += datagram.size();
  auto hdr = parse_header(datagram);
  if (!hdr) {
    if (hdr.error().code == errc::unknown_version)
      ++d.stats.dropped_unknown_version;
    else
      ++d.stats.dropped_malformed;
    return;
  }
  if (d.state == connection_state::closed) {
    ++d.stats.dropped_unexpected;
    return;
  }
  if (hdr->type == packet_type::handshake)
    d.on_handshake_packet(*hdr, now);
  else
    d.on_data_packet(*hdr, now);
}

bool connection::poll_datagram(time_point now, byte_buffer& out) {
  auto& d = *impl_;
  if (!d.ready.empty()) {
    out = std::move(d.ready.front());
    d.ready.pop_front();
    ++d.stats.datagrams_sent;
    d.stats.bytes_sent += out.size();
    return true;
  }
  switch (d.state) {
    case connection_state::closed:
    case connection_state::handshaking: return false;
    case connection_state::draining: return d.build_ack_only(now, out);
    case connection_state::established:
    case connection_state::closing: return d.build_packet(now, out);
  }
  return false;
}

std::optional<event> connection::poll_event() {
  auto& d = *impl_;
  if (d.events.empty())
    return std::nullopt;
  auto ev = std::move(d.events.front());
  d.events.pop_front();
  return ev;
}

void connection::on_timeout(time_point now) {
  impl_->on_timeout(now);
}

std::optional<time_point> connection::next_timeout() const {
  return impl_->next_timeout();
}

status connection::send(uint8_t prio, byte_buffer&& message, time_point now) {
  auto& d = *impl_;
  if (d.state != connection_state::handshaking
      && d.state != connection_state::established)
    return {errc::shutting_down, "the connection is closing or closed"};
  return d.queue.push(prio, std::move(message), now);
}

void connection::close(time_point) {
  auto& d = *impl_;
  if (d.state == connection_state::handshaking)
    d.finish({});
  else if (d.state == connection_state::established)
    d.state = connection_state::closing;
}

void connection::abort(failure reason, time_point now) {
  impl_->abort(std::move(reason), now);
}

connection_state connection::state() const noexcept {
  return impl_->state;
}

uint64_t connection::local_id() const noexcept {
  return impl_->local_id;
}

uint64_t connection::remote_id() const noexcept {
  return impl_->remote_id;
}

std::optional<noise::key32> connection::peer_id() const {
  return impl_->peer;
}

const connection_stats& connection::stats() const noexcept {
  return impl_->stats;
}

size_t connection::mtu() const noexcept {
  return impl_->mtu.current();
}

const rtt_estimator& connection::rtt() const noexcept {
  return impl_->loss.rtt();
}

const congestion_controller& connection::congestion() const noexcept {
  return *impl_->cc;
}

size_t connection::bytes_in_flight() const noexcept {
  return impl_->loss.bytes_in_flight();
}

size_t connection::queued_messages() const noexcept {
  return impl_->queue.size();
}

size_t connection::queued_bytes() const noexcept {
  return impl_->queue.bytes();
}

} // namespace crust::rudp
