#pragma once

// A TCP relay for real-socket tests: sits between a dialler and a listener
// on 127.0.0.1 and can stall, silence or reset the path. Header-only.

#include "crust/transport/asio_headers.hpp"

#include "support/service_test_support.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace crust::test {

/// Listens on 127.0.0.1 (random port) with its own io thread and forwards
/// bytes both ways between each accepted client and `target`. It can
/// - `pause_upstream` / `resume_upstream`: stop and restart reading from the
///   clients (TCP back-pressure builds up towards the client; nothing is
///   lost);
/// - `freeze`: stop forwarding for good but keep the sockets open (a silent
///   network: what is read is swallowed);
/// - `reset`: abort every socket with RST (what the kernel does for a killed
///   process with unread data).
class tcp_relay {
public:
  explicit tcp_relay(uint16_t target_port)
    : target_(asio::ip::address_v4::loopback(), target_port),
      acceptor_(ctx_, {asio::ip::address_v4::loopback(), 0}) {
    accept();
    thread_ = std::thread{[this] {
      ctx_.run();
    }};
  }

  ~tcp_relay() {
    asio::post(ctx_, [this] {
      acceptor_.close();
      for (auto& l : links_)
        l->close(false);
    });
    ctx_.stop();
    thread_.join();
  }

  tcp_relay(const tcp_relay&) = delete;
  tcp_relay& operator=(const tcp_relay&) = delete;

  uint16_t port() const {
    return acceptor_.local_endpoint().port();
  }

  void freeze() {
    frozen_ = true;
  }

  void reset() {
    asio::post(ctx_, [this] {
      for (auto& l : links_)
        l->close(true);
    });
  }

  void pause_upstream() {
    asio::post(ctx_, [this] {
      up_paused_ = true;
    });
  }

  void resume_upstream() {
    asio::post(ctx_, [this] {
      up_paused_ = false;
      for (auto& l : links_) {
        if (l->up_parked) {
          l->up_parked = false;
          l->pump_up();
        }
      }
    });
  }

private:
  using buffer_type = std::array<uint8_t, 16384>;

  struct link : std::enable_shared_from_this<link> {
    asio::ip::tcp::socket client;
    asio::ip::tcp::socket server;
    /// The relay's flags; read on the io thread only (`frozen` anywhere).
    const std::atomic<bool>* frozen;
    const bool* up_paused;
    /// Upstream reading stopped for a pause; `resume_upstream` restarts it.
    bool up_parked = false;
    buffer_type up_buf;
    buffer_type down_buf;

    link(asio::io_context& ctx, const std::atomic<bool>* frozen_flag,
         const bool* up_paused_flag)
      : client(ctx), server(ctx), frozen(frozen_flag),
        up_paused(up_paused_flag) {
      // nop
    }

    void pump_up() {
      pump(client, server, up_buf, true);
    }

    void pump_down() {
      pump(server, client, down_buf, false);
    }

    void pump(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to,
              buffer_type& buf, bool upstream) {
      if (upstream && *up_paused) {
        up_parked = true;
        return;
      }
      auto self = shared_from_this();
      from.async_read_some(
        asio::buffer(buf),
        [self, &from, &to, &buf, upstream](std::error_code ec, size_t n) {
          if (ec) {
            self->close(false);
            return;
          }
          if (*self->frozen)
            return; // swallow and stop reading: silence
          async_write_all(to, buf.data(), n,
                          [self, &from, &to, &buf,
                           upstream](std::error_code wec) {
                            if (wec) {
                              self->close(false);
                              return;
                            }
                            self->pump(from, to, buf, upstream);
                          });
        });
    }

    void close(bool abort) {
      std::error_code ec;
      for (auto* s : {&client, &server}) {
        if (!s->is_open())
          continue;
        if (abort)
          s->set_option(asio::socket_base::linger{true, 0}, ec);
        s->close(ec);
      }
    }
  };

  void accept() {
    auto l = std::make_shared<link>(ctx_, &frozen_, &up_paused_);
    acceptor_.async_accept(l->client, [this, l](std::error_code ec) {
      if (ec)
        return;
      links_.push_back(l);
      l->server.async_connect(target_, [l](std::error_code cec) {
        if (cec) {
          l->close(false);
          return;
        }
        l->pump_up();
        l->pump_down();
      });
      accept();
    });
  }

  asio::io_context ctx_;
  asio::ip::tcp::endpoint target_;
  asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> frozen_{false};
  bool up_paused_ = false;
  std::vector<std::shared_ptr<link>> links_;
  std::thread thread_;
};

} // namespace crust::test
