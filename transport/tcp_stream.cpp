#include "crust/transport/tcp_stream.hpp"

#include "crust/transport/asio_listener.hpp"

#include <algorithm>
#include <system_error>
#include <utility>
#include <vector>

namespace crust {

namespace {

/// Most queued buffers handed to one write call (gathered I/O).
constexpr size_t max_gather = 16;

tcp_stream_config sanitize(tcp_stream_config cfg) {
  cfg.read_chunk = std::max<size_t>(cfg.read_chunk, 1);
  cfg.max_unconsumed = std::max(cfg.max_unconsumed, cfg.read_chunk);
  return cfg;
}

} // namespace

std::shared_ptr<tcp_stream> tcp_stream::accepted(asio::ip::tcp::socket sock,
                                                 tcp_stream_config cfg) {
  std::error_code ec;
  auto remote = sock.remote_endpoint(ec);
  return std::make_shared<tcp_stream>(std::move(sock), remote, true, cfg);
}

std::shared_ptr<tcp_stream>
tcp_stream::connecting(asio::io_context& ctx, asio::ip::tcp::endpoint remote,
                       tcp_stream_config cfg) {
  return std::make_shared<tcp_stream>(asio::ip::tcp::socket{ctx}, remote, false,
                                      cfg);
}

tcp_stream::tcp_stream(asio::ip::tcp::socket sock,
                       asio::ip::tcp::endpoint remote, bool connected,
                       tcp_stream_config cfg)
  : sock_(std::move(sock)), timer_(sock_.get_executor()), remote_(remote),
    remote_text_(to_string(remote)), cfg_(sanitize(cfg)),
    needs_connect_(!connected) {
  // nop
}

// -- thread-safe entry points
// --------------------------------------------------

void tcp_stream::start(handler h) {
  asio::post(sock_.get_executor(),
             [self = shared_from_this(), h = std::move(h)]() mutable {
               self->handler_ = std::move(h);
               self->do_start();
             });
}

void tcp_stream::write(byte_buffer bytes) {
  if (bytes.empty())
    return;
  asio::post(sock_.get_executor(),
             [self = shared_from_this(), buf = std::move(bytes)]() mutable {
               if (self->phase_ == phase::closed || self->shutdown_requested_)
                 return;
               self->writes_.push_back(std::move(buf));
               self->do_write();
             });
}

void tcp_stream::consumed(size_t n) {
  asio::post(sock_.get_executor(), [self = shared_from_this(), n] {
    self->unconsumed_ -= std::min(n, self->unconsumed_);
    self->do_read();
  });
}

void tcp_stream::shutdown() {
  asio::post(sock_.get_executor(), [self = shared_from_this()] {
    self->do_shutdown();
  });
}

void tcp_stream::close() {
  asio::post(sock_.get_executor(), [self = shared_from_this()] {
    self->do_close();
  });
}

// -- io thread
// -------------------------------------------------------------------

void tcp_stream::do_start() {
  if (phase_ != phase::idle)
    return;
  if (needs_connect_) {
    phase_ = phase::connecting;
    timer_.expires_after(cfg_.connect_timeout);
    timer_.async_wait([self = shared_from_this()](std::error_code ec) {
      if (!ec && self->phase_ == phase::connecting) {
        self->connect_timed_out_ = true;
        std::error_code ignored;
        self->sock_.close(ignored); // the connect completes as aborted
      }
    });
    sock_.async_connect(remote_,
                        [self = shared_from_this()](std::error_code ec) {
                          self->on_connect(ec);
                        });
    return;
  }
  on_connect({});
}

void tcp_stream::on_connect(const std::error_code& ec) {
  if (phase_ == phase::closed)
    return; // closed meanwhile: the normal end of a close()
  timer_.cancel();
  if (connect_timed_out_) {
    report_closed(failure{errc::socket_failure,
                          "connect to " + remote_text_ + ": timed out after "
                            + std::to_string(cfg_.connect_timeout.count())
                            + "ms"});
    do_close();
    return;
  }
  if (ec) {
    fail("connect to " + remote_text_, ec);
    return;
  }
  phase_ = phase::open;
  std::error_code ignored;
  sock_.set_option(asio::ip::tcp::no_delay(true), ignored);
  do_read();
  do_write();
  if (shutdown_requested_ && !writing_ && writes_.empty())
    finish_shutdown();
}

void tcp_stream::do_read() {
  if (reading_ || read_eof_)
    return;
  if (phase_ == phase::open) {
    if (unconsumed_ >= cfg_.max_unconsumed)
      return; // back-pressure: `consumed` resumes reading
  } else if (phase_ != phase::lingering) {
    return;
  }
  reading_ = true;
  read_buf_.resize(cfg_.read_chunk);
  sock_.async_read_some(asio::buffer(read_buf_),
                        [self = shared_from_this()](std::error_code ec,
                                                    size_t n) {
                          self->on_read(ec, n);
                        });
}

void tcp_stream::on_read(const std::error_code& ec, size_t n) {
  reading_ = false;
  if (phase_ == phase::closed || ec == asio::error::operation_aborted)
    return;
  if (phase_ == phase::lingering) {
    // Waiting for the peer's FIN after ours: discard, stop at the end.
    if (ec)
      do_close();
    else
      do_read();
    return;
  }
  if (ec == asio::error::eof) {
    // The owner decides when to close; our queued writes may still go out.
    read_eof_ = true;
    report_closed(failure{});
    return;
  }
  if (ec) {
    fail("read from " + remote_text_, ec);
    return;
  }
  unconsumed_ += n;
  if (handler_.on_data) {
    if (n >= read_buf_.size() / 2) {
      // A well-filled read: hand the buffer itself over (no copy); the next
      // read allocates a fresh one.
      read_buf_.resize(n);
      handler_.on_data(std::move(read_buf_));
      read_buf_ = byte_buffer{};
    } else {
      // A short read: copy it, so that a queued chunk never pins a mostly
      // empty allocation of a whole read, and keep the buffer.
      handler_.on_data(byte_buffer(
        read_buf_.begin(), read_buf_.begin() + static_cast<std::ptrdiff_t>(n)));
    }
  }
  do_read();
}

void tcp_stream::do_write() {
  if (writing_ || writes_.empty() || phase_ != phase::open)
    return;
  std::vector<asio::const_buffer> bufs;
  bufs.reserve(std::min(writes_.size(), max_gather));
  for (size_t i = 0; i < writes_.size() && i < max_gather; ++i) {
    const auto& buf = writes_[i];
    auto offset = i == 0 ? write_offset_ : 0;
    bufs.emplace_back(buf.data() + offset, buf.size() - offset);
  }
  writing_ = true;
  sock_.async_write_some(bufs, [self = shared_from_this()](std::error_code ec,
                                                           size_t n) {
    self->on_write(ec, n);
  });
}

void tcp_stream::on_write(const std::error_code& ec, size_t n) {
  writing_ = false;
  if (phase_ == phase::closed || ec == asio::error::operation_aborted)
    return;
  if (ec) {
    fail("write to " + remote_text_, ec);
    return;
  }
  if (n > 0 && handler_.on_written)
    handler_.on_written(n);
  while (!writes_.empty()) {
    auto rest = writes_.front().size() - write_offset_;
    if (n < rest) {
      write_offset_ += n;
      break;
    }
    n -= rest;
    writes_.pop_front();
    write_offset_ = 0;
  }
  if (!writes_.empty())
    do_write();
  else if (shutdown_requested_)
    finish_shutdown();
}

void tcp_stream::do_shutdown() {
  handler_ = handler{};
  switch (phase_) {
    case phase::closed:
    case phase::lingering: return;
    case phase::idle:
    case phase::connecting:
      do_close(); // nothing of ours reached the peer yet
      return;
    case phase::open: break;
  }
  shutdown_requested_ = true;
  if (!writing_ && writes_.empty())
    finish_shutdown();
  else
    do_write();
}

void tcp_stream::finish_shutdown() {
  std::error_code ec;
  sock_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  if (ec || read_eof_) {
    do_close();
    return;
  }
  phase_ = phase::lingering;
  timer_.expires_after(cfg_.linger);
  timer_.async_wait([self = shared_from_this()](std::error_code timer_ec) {
    if (!timer_ec && self->phase_ == phase::lingering)
      self->do_close();
  });
  do_read();
}

void tcp_stream::do_close() {
  if (phase_ == phase::closed)
    return;
  phase_ = phase::closed;
  handler_ = handler{};
  writes_.clear();
  timer_.cancel();
  std::error_code ignored;
  sock_.close(ignored);
}

void tcp_stream::fail(const std::string& what, const std::error_code& ec) {
  report_closed(failure{errc::socket_failure, what + ": " + ec.message()});
  do_close();
}

void tcp_stream::report_closed(failure reason) {
  auto on_closed = std::move(handler_.on_closed);
  handler_ = handler{};
  if (on_closed)
    on_closed(reason);
}

} // namespace crust
