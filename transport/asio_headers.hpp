#pragma once

// Every Asio header crust uses, included in one place. GCC 12 reports
// -Wnull-dereference from Asio's scheduler code once it is inlined into
// crust's functions; system-header suppression does not cover warnings found
// after inlining, but a diagnostic pragma around the headers does.
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic push
#  pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#include <asio/error.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/socket_base.hpp>
#include <asio/steady_timer.hpp>

#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic pop
#endif
