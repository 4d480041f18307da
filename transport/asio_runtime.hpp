#pragma once

#include "crust/transport/asio_headers.hpp"

#include <optional>
#include <thread>

namespace crust {

/// The io thread: one `asio::io_context` run by one thread (caf-0.17.md
/// section 5). Asio objects created on this context are touched only from
/// that thread once it runs; actors reach them through `asio::post`, and
/// completion handlers reach actors through `caf::anon_send`.
///
/// Stop order: close every Asio object (each posts its own close), then call
/// `stop()`, which lets the context run out of work and joins the thread.
class asio_runtime {
public:
  asio_runtime() = default;
  asio_runtime(const asio_runtime&) = delete;
  asio_runtime& operator=(const asio_runtime&) = delete;

  /// Calls `stop()`.
  ~asio_runtime();

  asio::io_context& context() noexcept {
    return ctx_;
  }

  /// Starts the io thread. Does nothing if it runs already.
  void start();

  /// Drops the work guard and joins the io thread once every pending
  /// operation has completed. Does nothing if the thread does not run.
  void stop();

  /// True on the io thread.
  bool in_io_thread() const noexcept;

private:
  asio::io_context ctx_{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>>
    guard_;
  std::thread thread_;
};

} // namespace crust
