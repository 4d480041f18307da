#include "crust/transport/asio_runtime.hpp"

#include "crust/messages/log.hpp"

#include <exception>

namespace crust {

asio_runtime::~asio_runtime() {
  stop();
}

void asio_runtime::start() {
  if (thread_.joinable())
    return;
  guard_.emplace(ctx_.get_executor());
  ctx_.restart();
  thread_ = std::thread{[this] {
    for (;;) {
      try {
        ctx_.run();
        return;
      } catch (const std::exception& ex) {
        log::error("uncaught exception on the io thread: {}", ex.what());
      } catch (...) {
        log::error("uncaught exception on the io thread");
      }
    }
  }};
}

void asio_runtime::stop() {
  if (!thread_.joinable())
    return;
  guard_.reset();
  thread_.join();
}

bool asio_runtime::in_io_thread() const noexcept {
  return thread_.get_id() == std::this_thread::get_id();
}

} // namespace crust
