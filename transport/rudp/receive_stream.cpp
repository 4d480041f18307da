#include "crust/transport/rudp/receive_stream.hpp"

#include "crust/transport/rudp/send_stream.hpp"

#include <algorithm>
#include <string>

namespace crust::rudp {

status receive_stream::on_data(uint64_t offset, const_byte_span data,
                               std::vector<stream_message>& out) {
  auto last = offset + data.size();
  if (last <= next_ || data.empty())
    return {}; // a duplicate
  if (offset < next_) {
    data = data.subspan(static_cast<size_t>(next_ - offset));
    offset = next_;
  }
  if (offset > next_) {
    // Keep only the parts not held yet, so that every byte is stored once.
    auto pos = offset;
    while (pos < last) {
      auto gap_start = pending_ranges_.first_gap(pos);
      if (gap_start >= last)
        break;
      auto it = pending_ranges_.ranges().upper_bound(gap_start);
      auto gap_end = it == pending_ranges_.ranges().end()
                       ? last
                       : std::min(last, it->first);
      if (pending_.size() >= max_pending_pieces)
        return {errc::malformed_message,
                "the peer sent too many out-of-order stream pieces"};
      auto piece = data.subspan(static_cast<size_t>(gap_start - offset),
                                static_cast<size_t>(gap_end - gap_start));
      pending_.emplace(gap_start, piece.to_buffer());
      pending_ranges_.insert(gap_start, gap_end);
      buffered_ += piece.size();
      pos = gap_end;
    }
    return {};
  }
  if (auto st = consume(data, out); !st)
    return st;
  // Drain what became contiguous.
  while (!pending_.empty() && pending_.begin()->first <= next_) {
    auto node = pending_.extract(pending_.begin());
    auto& bytes = node.mapped();
    auto start = node.key();
    buffered_ -= bytes.size();
    pending_ranges_.erase(start, start + bytes.size());
    if (start + bytes.size() <= next_)
      continue;
    auto rest
      = const_byte_span{bytes}.subspan(static_cast<size_t>(next_ - start));
    if (auto st = consume(rest, out); !st)
      return st;
  }
  return {};
}

status receive_stream::consume(const_byte_span data,
                               std::vector<stream_message>& out) {
  size_t pos = 0;
  while (pos < data.size()) {
    if (header_have_ < message_header_len) {
      auto n = std::min(message_header_len - header_have_, data.size() - pos);
      std::copy_n(data.begin() + pos, n, header_ + header_have_);
      header_have_ += n;
      pos += n;
      next_ += n;
      if (header_have_ < message_header_len)
        break;
      size_t len = (size_t{header_[1]} << 24) | (size_t{header_[2]} << 16)
                   | (size_t{header_[3]} << 8) | size_t{header_[4]};
      if (len > max_message_size_)
        return {errc::message_too_large, "the peer announced a message of "
                                           + std::to_string(len)
                                           + " bytes; the maximum is "
                                           + std::to_string(max_message_size_)};
      current_.prio = header_[0];
      current_.payload.clear();
      current_.payload.reserve(len);
      payload_left_ = len;
    }
    auto n = std::min(payload_left_, data.size() - pos);
    current_.payload.insert(current_.payload.end(), data.begin() + pos,
                            data.begin() + pos + n);
    pos += n;
    next_ += n;
    payload_left_ -= n;
    if (payload_left_ == 0) {
      out.push_back(std::move(current_));
      current_ = stream_message{};
      header_have_ = 0;
    }
  }
  return {};
}

} // namespace crust::rudp
