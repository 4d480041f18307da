#include "crust/transport/rudp/send_stream.hpp"

#include <algorithm>
#include <cassert>
#include <iterator>

namespace crust::rudp {

void send_stream::append(uint8_t prio, byte_buffer&& payload) {
  byte_buffer header(message_header_len);
  auto len = static_cast<uint32_t>(payload.size());
  header[0] = prio;
  header[1] = static_cast<uint8_t>(len >> 24);
  header[2] = static_cast<uint8_t>(len >> 16);
  header[3] = static_cast<uint8_t>(len >> 8);
  header[4] = static_cast<uint8_t>(len);
  chunks_.push_back({end_, std::move(header)});
  end_ += message_header_len;
  if (!payload.empty()) {
    auto size = payload.size();
    chunks_.push_back({end_, std::move(payload)});
    end_ += size;
  }
}

bool send_stream::has_pending(uint64_t flow_limit) const noexcept {
  return !retransmit_.empty() || sent_end_ < std::min(end_, flow_limit);
}

std::optional<stream_range> send_stream::take(size_t max_len,
                                              uint64_t flow_limit) {
  if (max_len == 0)
    return std::nullopt;
  if (!retransmit_.empty()) {
    auto first = retransmit_.ranges().begin();
    auto len = std::min<uint64_t>(first->second - first->first, max_len);
    stream_range r{first->first, static_cast<size_t>(len)};
    retransmit_.erase(r.offset, r.offset + r.length);
    return r;
  }
  auto limit = std::min(end_, flow_limit);
  if (sent_end_ >= limit)
    return std::nullopt;
  auto len = std::min<uint64_t>(limit - sent_end_, max_len);
  stream_range r{sent_end_, static_cast<size_t>(len)};
  sent_end_ += len;
  return r;
}

void send_stream::copy(stream_range range, byte_buffer& out) const {
  assert(range.offset >= base_ && range.offset + range.length <= end_);
  // The chunk holding range.offset: the last one starting at or before it.
  auto i = std::upper_bound(chunks_.begin(), chunks_.end(), range.offset,
                            [](uint64_t off, const chunk& c) {
                              return off < c.offset;
                            });
  --i;
  auto offset = range.offset;
  auto left = range.length;
  while (left > 0) {
    auto skip = static_cast<size_t>(offset - i->offset);
    auto n = std::min(left, i->bytes.size() - skip);
    auto from = i->bytes.begin() + static_cast<long>(skip);
    out.insert(out.end(), from, from + static_cast<long>(n));
    left -= n;
    offset += n;
    ++i;
  }
}

uint64_t send_stream::acked_prefix() const noexcept {
  return acked_.first_gap(0);
}

void send_stream::on_acked(stream_range range) {
  if (range.length == 0)
    return;
  acked_.insert(range.offset, range.offset + range.length);
  retransmit_.erase(range.offset, range.offset + range.length);
  release_acked();
}

void send_stream::on_lost(stream_range range) {
  auto first = range.offset;
  auto last = range.offset + range.length;
  // Only the parts not acknowledged meanwhile.
  while (first < last) {
    if (acked_.contains(first)) {
      auto it = acked_.ranges().upper_bound(first);
      first = std::prev(it)->second;
      continue;
    }
    auto next = acked_.ranges().upper_bound(first);
    auto stop = next == acked_.ranges().end() ? last
                                              : std::min(last, next->first);
    retransmit_.insert(first, stop);
    first = stop;
  }
}

void send_stream::release_acked() {
  auto prefix = acked_prefix();
  while (!chunks_.empty()
         && chunks_.front().offset + chunks_.front().bytes.size() <= prefix) {
    base_ = chunks_.front().offset + chunks_.front().bytes.size();
    chunks_.pop_front();
  }
  // Keep the acknowledged set small: everything below the released base is
  // one range.
  if (prefix > 0 && acked_.size() > 1)
    acked_.insert(0, prefix);
}

} // namespace crust::rudp
