#pragma once

// Every Asio header crust uses, included in one place: include Asio only
// through this file.
//
// Asio 1.22 decides in asio/detail/config.hpp whether to allocate with
// std::aligned_alloc by testing _GLIBCXX_HAVE_ALIGNED_ALLOC, which only a
// standard header defines. A file whose first include is an Asio header
// therefore pairs operator new with another file's free() (ASan:
// alloc-dealloc-mismatch). A standard header first keeps every file alike.
#include <cstddef>

// GCC 12 reports -Wnull-dereference from Asio's scheduler code once it is
// inlined into crust's functions; system-header suppression does not cover
// warnings found after inlining, but a diagnostic pragma around the headers
// does.
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
