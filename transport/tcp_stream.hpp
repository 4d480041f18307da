#pragma once

#include "crust/messages/expected.hpp"
#include "crust/transport/asio_headers.hpp"
#include "crust/transport/byte_span.hpp"

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>

namespace crust {

/// Limits and timeouts of one TCP stream.
struct tcp_stream_config {
  /// Bytes asked for per read; each read is delivered as one chunk.
  size_t read_chunk = size_t{64} * 1024;

  /// Back-pressure: reading pauses while this many delivered bytes are not
  /// yet `consumed`, so a slow receiver stops the peer through TCP's window
  /// instead of filling memory. At least `read_chunk`.
  size_t max_unconsumed = size_t{256} * 1024;

  /// An outbound connect fails after this long.
  std::chrono::milliseconds connect_timeout{10000};

  /// After an orderly `shutdown` sent everything and our FIN, the socket
  /// waits this long for the peer's FIN (discarding what still arrives), so
  /// that a last close frame or refusal is not destroyed by a reset.
  std::chrono::milliseconds linger{2000};
};

/// One TCP connection on the io thread (caf-0.17.md section 5): owns the
/// socket, reads in chunks and hands them to a callback, writes a queue of
/// buffers one after the other (writes never interleave). Every Asio object
/// is touched only on the io thread; the public member functions are
/// thread-safe and post there. Held by `shared_ptr`: pending operations
/// keep it alive.
///
/// The callbacks run on the io thread and should only `caf::anon_send` to the
/// owning actor. The write queue itself is unbounded: its owner bounds it by
/// the bytes `on_written` reports (the CONNECTION's write window). `on_closed`
/// runs at most once, when the stream ends by itself (end of stream, an error,
/// a failed connect), and never after `shutdown()` or `close()`, which also
/// drop both callbacks (and with them the owner's handle).
class tcp_stream : public std::enable_shared_from_this<tcp_stream> {
public:
  /// What the stream reports, on the io thread.
  struct handler {
    /// A chunk of bytes from the peer.
    std::function<void(byte_buffer)> on_data;
    /// `n` more queued bytes were written to the socket (the owner's write
    /// credit: it bounds what it queues by what was reported here).
    std::function<void(size_t)> on_written;
    /// The stream ended: `errc::none` for an orderly end of stream,
    /// `errc::socket_failure` with a detail otherwise.
    std::function<void(const failure&)> on_closed;
  };

  /// A stream over a connected socket (e.g. from `tcp_listener`). Call it on
  /// the io thread, or before the io thread runs.
  static std::shared_ptr<tcp_stream> accepted(asio::ip::tcp::socket sock,
                                              tcp_stream_config cfg = {});

  /// A stream that connects to `remote` once started; writes before that
  /// are queued. Thread-safe.
  static std::shared_ptr<tcp_stream> connecting(asio::io_context& ctx,
                                                asio::ip::tcp::endpoint remote,
                                                tcp_stream_config cfg = {});

  tcp_stream(asio::ip::tcp::socket sock, asio::ip::tcp::endpoint remote,
             bool connected, tcp_stream_config cfg);

  tcp_stream(const tcp_stream&) = delete;
  tcp_stream& operator=(const tcp_stream&) = delete;

  /// The peer's address, "a.b.c.d:port" or "[v6]:port".
  const std::string& remote() const noexcept {
    return remote_text_;
  }

  /// Connects if needed, then reads, delivering through `h`. Call once.
  void start(handler h);

  /// Queues `bytes` behind every earlier write.
  void write(byte_buffer bytes);

  /// The owner processed `n` more delivered bytes; reading resumes once the
  /// unconsumed bytes fall below the limit.
  void consumed(size_t n);

  /// Orderly close: writes what is queued, sends FIN, waits up to `linger`
  /// for the peer's FIN, closes. Drops the callbacks at once.
  void shutdown();

  /// Closes at once, dropping queued writes. Drops the callbacks.
  void close();

private:
  enum class phase { idle, connecting, open, lingering, closed };

  // All of these run on the io thread.
  void do_start();
  void on_connect(const std::error_code& ec);
  void do_read();
  void on_read(const std::error_code& ec, size_t n);
  void do_write();
  void on_write(const std::error_code& ec, size_t n);
  void do_shutdown();
  void finish_shutdown();
  void do_close();
  void fail(const std::string& what, const std::error_code& ec);
  void report_closed(failure reason);

  asio::ip::tcp::socket sock_;
  asio::steady_timer timer_;
  asio::ip::tcp::endpoint remote_;
  std::string remote_text_;
  tcp_stream_config cfg_;
  handler handler_;
  phase phase_ = phase::idle;
  /// Set by a start on a stream that still has to connect.
  bool needs_connect_ = false;
  bool connect_timed_out_ = false;
  /// Queued writes; the first may be partly written (`write_offset_`).
  std::deque<byte_buffer> writes_;
  size_t write_offset_ = 0;
  bool writing_ = false;
  /// A shutdown waits for the queue to drain.
  bool shutdown_requested_ = false;
  byte_buffer read_buf_;
  bool reading_ = false;
  bool read_eof_ = false;
  size_t unconsumed_ = 0;
};

} // namespace crust
