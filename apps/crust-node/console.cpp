#include "console.hpp"

#include "crust/messages/expected.hpp"
#include "crust/messages/log.hpp"
#include "crust/transport/fd_guard.hpp"

#include "file_message.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace crust_node {

namespace atom = crust::atom;

namespace {

/// How often `quit` looks at the send queues while they drain.
constexpr auto flush_poll_interval = std::chrono::milliseconds{50};

/// Longest wait for the PORT MAPPER (SSDP search, SOAP, NAT-PMP retries).
constexpr auto port_mapping_timeout = std::chrono::seconds{20};

std::string errno_text() {
  return std::strerror(errno);
}

caf::error crust_error(crust::errc code, std::string detail) {
  return crust::to_error(crust::failure{code, std::move(detail)});
}

std::string lower(std::string text) {
  for (auto& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

} // namespace

// -- files --------------------------------------------------------------------

std::string save_received_file(const std::string& dir, const std::string& name,
                               crust::const_byte_span content,
                               std::string& path) {
  auto base = dir + "/" + safe_file_name(name);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    auto candidate = attempt == 0 ? base : base + "." + std::to_string(attempt);
    int fd = ::open(candidate.c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
      if (errno == EEXIST)
        continue;
      return "cannot create " + candidate + ": " + errno_text();
    }
    bool ok = crust::write_all(fd, content.data(), content.size());
    auto write_error = errno_text();
    if (::close(fd) != 0 && ok) {
      ok = false;
      write_error = errno_text();
    }
    if (!ok) {
      ::unlink(candidate.c_str());
      return "cannot write " + candidate + ": " + write_error;
    }
    path = candidate;
    return {};
  }
  return "no free name for " + base + " (tried 1000)";
}

std::string read_file(const std::string& path, size_t max_size,
                      std::vector<uint8_t>& out, uint64_t& size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return "cannot open " + path + ": " + errno_text();
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    auto err = errno_text();
    ::close(fd);
    return "cannot stat " + path + ": " + err;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return path + " is not a regular file";
  }
  size = static_cast<uint64_t>(st.st_size);
  if (size > max_size) {
    ::close(fd);
    return {};
  }
  out.resize(size);
  size_t got = 0;
  while (got < out.size()) {
    auto n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      auto err = n < 0 ? errno_text() : std::string{"file shrank"};
      ::close(fd);
      return "cannot read " + path + ": " + err;
    }
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  return {};
}

// -- output -------------------------------------------------------------------

void console_state::print(const std::string& text) {
  if (text.empty())
    return;
  auto line = text + "\n";
  // One write per event; a reader that went away is not our failure.
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

// -- the command queue --------------------------------------------------------

void console_state::enqueue(queued_command cmd) {
  if (stopping)
    return;
  queue.push_back(std::move(cmd));
  run_next();
}

void console_state::run_next() {
  while (!current && !queue.empty() && !stopping) {
    current = std::move(queue.front());
    queue.pop_front();
    current_kind.reset();
    auto parsed = parse_line(current->line);
    if (parsed.empty) {
      current.reset();
      continue;
    }
    if (!parsed.cmd) {
      fail(command_error(parsed.error));
      continue;
    }
    current_kind = parsed.cmd->kind;
    execute(*parsed.cmd);
  }
}

void console_state::succeed(const std::string& text) {
  print(text);
  current.reset();
  current_kind.reset();
  run_next();
}

void console_state::fail(const error_text& err) {
  auto input = current ? current->line : std::string{};
  print(format->command_failed(current_kind, input, err));
  auto origin = current ? current->origin : command_origin::input;
  current.reset();
  current_kind.reset();
  if (origin == command_origin::startup) {
    stopping = true;
    cfg.stop(stop_reason::fatal);
    return;
  }
  if (origin == command_origin::argument)
    argument_failed = true;
  run_next();
}

void console_state::fail(const caf::error& err) {
  fail(describe(err, [this](const caf::error& x) {
    return self->system().render(x);
  }));
}

// -- commands -----------------------------------------------------------------

void console_state::execute(const command& cmd) {
  auto timeout = cfg.command_timeout;
  auto on_error = [s = self](caf::error& err) {
    s->state.fail(err);
  };
  switch (cmd.kind) {
    case command_kind::listen: do_listen(); return;
    case command_kind::stop_listen:
      self->request(cfg.service, timeout, atom::stop_v, atom::listen_v)
        .then(
          [s = self](bool was_listening) {
            s->state.announced_port = 0;
            s->state.succeed(s->state.format->stopped_listening(was_listening));
          },
          on_error);
      return;
    case command_kind::connect:
      self->request(cfg.service, timeout, atom::connect_v, cmd.argument)
        .then(
          [s = self](const crust::peer_id& peer) {
            s->state.succeed(
              s->state.format->connected(command_kind::connect, peer));
          },
          on_error);
      return;
    case command_kind::connect_info: do_connect_info(cmd.argument); return;
    case command_kind::info: do_info(); return;
    case command_kind::send: do_send(cmd); return;
    case command_kind::send_file: do_send_file(cmd); return;
    case command_kind::peers:
      self->request(cfg.service, timeout, atom::get_v, atom::peers_v)
        .then(
          [s = self](const std::vector<crust::peer_summary>& xs) {
            s->state.succeed(s->state.format->peers(xs));
          },
          on_error);
      return;
    case command_kind::disconnect:
      with_peer(cmd.target, [s = self, timeout](const crust::peer_id& peer) {
        s->request(s->state.cfg.service, timeout, atom::disconnect_v, peer)
          .then(
            [s, peer](bool was_connected) {
              s->state.succeed(
                s->state.format->disconnected(peer, was_connected));
            },
            [s](caf::error& err) {
              s->state.fail(err);
            });
      });
      return;
    case command_kind::ban: do_ban(cmd); return;
    case command_kind::unban: do_unban(cmd); return;
    case command_kind::bans:
      with_blacklist([s = self, timeout](crust::blacklist_actor bl) {
        s->request(bl, timeout, atom::list_v)
          .then(
            [s](const crust::ban_list& xs) {
              s->state.succeed(s->state.format->bans(xs));
            },
            [s](caf::error& err) {
              s->state.fail(err);
            });
      });
      return;
    case command_kind::stats:
      self->request(cfg.service, timeout, atom::get_v, atom::stats_v)
        .then(
          [s = self](const crust::service_stats& x) {
            s->state.succeed(s->state.format->stats(x));
          },
          on_error);
      return;
    case command_kind::bootstrap:
      // The manager ends every run within its budget; its report answers.
      bootstrapping = true;
      self->request(cfg.service, caf::infinite, atom::bootstrap_v)
        .then(
          [s = self](const crust::bootstrap_report& x) {
            s->state.bootstrapping = false;
            if (x.reason) {
              s->state.fail(x.reason);
              return;
            }
            s->state.found_by[x.peer] = std::string{to_string(x.source)};
            s->state.succeed(s->state.format->bootstrapped(x));
          },
          [s = self](caf::error& err) {
            s->state.bootstrapping = false;
            s->state.fail(err);
          });
      return;
    case command_kind::learned:
      self->request(cfg.service, timeout, atom::get_v, atom::gossip_v)
        .then(
          [s = self](const std::vector<crust::bootstrap_candidate>& xs) {
            s->state.succeed(s->state.format->learned(xs));
          },
          on_error);
      return;
    case command_kind::connect_learned:
      self->request(cfg.service, timeout, atom::get_v, atom::gossip_v)
        .then(
          [s = self](const std::vector<crust::bootstrap_candidate>& xs) {
            // Each connect reports itself (connect_success or
            // connect_failure); the command only starts them.
            for (const auto& x : xs) {
              if (x.endpoints.empty())
                continue;
              s->state.found_by.emplace(x.peer, "gossip");
              crust::public_connection_info theirs;
              theirs.id = x.peer;
              for (const auto& text : x.endpoints)
                if (auto ep = crust::endpoint::parse(text))
                  theirs.endpoints.push_back(*ep);
              s->request(s->state.cfg.service, caf::infinite, atom::connect_v,
                         crust::private_connection_info{}, std::move(theirs))
                .then([](const crust::peer_id&) {}, [](caf::error&) {});
            }
            s->state.succeed(s->state.format->connecting_learned(xs.size()));
          },
          on_error);
      return;
    case command_kind::echo:
      with_peer(cmd.target, [s = self, timeout](const crust::peer_id& peer) {
        s->request(s->state.cfg.service, timeout, atom::get_v, atom::echo_v,
                   peer)
          .then(
            [s, peer](const std::string& observed) {
              s->state.succeed(s->state.format->echoed(peer, observed));
            },
            [s](caf::error& err) {
              s->state.fail(err);
            });
      });
      return;
    case command_kind::help: succeed(format->help()); return;
    case command_kind::quit:
      stopping = true;
      flush_deadline = caf::make_timestamp() + cfg.flush_timeout;
      flush_then_stop();
      return;
  }
}

void console_state::with_peer(const std::string& prefix,
                              std::function<void(const crust::peer_id&)> then) {
  if (prefix.size() == crust::peer_id::hex_size) {
    auto id = crust::peer_id::parse(prefix);
    if (!id) {
      fail(crust::to_error(id.error()));
      return;
    }
    then(*id);
    return;
  }
  self->request(cfg.service, cfg.command_timeout, atom::get_v, atom::peers_v)
    .then(
      [s = self, wanted = lower(prefix),
       then](const std::vector<crust::peer_summary>& xs) {
        std::vector<crust::peer_id> matches;
        for (const auto& x : xs)
          if (x.peer.to_hex().compare(0, wanted.size(), wanted) == 0)
            matches.push_back(x.peer);
        if (matches.size() == 1) {
          then(matches.front());
        } else if (matches.empty()) {
          s->state.fail(
            crust_error(crust::errc::peer_not_found,
                        "no connected peer id starts with '" + wanted + "'"));
        } else {
          s->state.fail(crust_error(
            crust::errc::bad_peer_id,
            "'" + wanted + "' starts " + std::to_string(matches.size())
              + " connected peer ids; type more of the id"));
        }
      },
      [s = self](caf::error& err) {
        s->state.fail(err);
      });
}

void console_state::with_blacklist(
  std::function<void(crust::blacklist_actor)> then) {
  if (blacklist) {
    then(blacklist);
    return;
  }
  self
    ->request(cfg.service, cfg.command_timeout, atom::get_v, atom::blacklist_v)
    .then(
      [s = self, then](crust::blacklist_actor bl) {
        s->state.blacklist = bl;
        then(std::move(bl));
      },
      [s = self](caf::error& err) {
        s->state.fail(err);
      });
}

void console_state::do_listen() {
  self->request(cfg.service, cfg.command_timeout, atom::listen_v)
    .then(
      [s = self](uint16_t port) {
        auto& st = s->state;
        if (st.format->mode() == output_mode::json) {
          st.succeed(st.format->listening(port));
        } else if (st.announced_port != port) {
          st.announced_port = port;
          st.succeed("listening tcp " + std::to_string(port));
        } else {
          st.succeed(st.format->listening(port)); // the event said it first
        }
      },
      [s = self](caf::error& err) {
        s->state.fail(err);
      });
}

void console_state::do_info() {
  auto token = next_token++;
  own_tokens.insert(token);
  self->request(cfg.service, cfg.command_timeout, atom::prepare_v, token)
    .then(
      [s = self, token](const crust::private_connection_info& info) {
        auto text = info.to_public().to_text();
        if (!text) {
          s->state.fail(crust::to_error(text.error()));
          return;
        }
        s->state.prepared = info;
        s->state.succeed(s->state.format->info(token, *text));
      },
      [s = self](caf::error& err) {
        s->state.fail(err);
      });
}

void console_state::do_connect_info(const std::string& text) {
  auto theirs = crust::public_connection_info::from_text(text);
  if (!theirs) {
    fail(crust::to_error(theirs.error()));
    return;
  }
  auto connect
    = [s = self, theirs = *theirs](const crust::private_connection_info& ours) {
        s->request(s->state.cfg.service, s->state.cfg.command_timeout,
                   atom::connect_v, ours, theirs)
          .then(
            [s](const crust::peer_id& peer) {
              s->state.succeed(
                s->state.format->connected(command_kind::connect_info, peer));
            },
            [s](caf::error& err) {
              s->state.fail(err);
            });
      };
  if (prepared) {
    connect(*prepared);
    return;
  }
  auto token = next_token++;
  own_tokens.insert(token);
  self->request(cfg.service, cfg.command_timeout, atom::prepare_v, token)
    .then(
      [s = self, connect](const crust::private_connection_info& info) {
        s->state.prepared = info;
        connect(info);
      },
      [s = self](caf::error& err) {
        s->state.fail(err);
      });
}

void console_state::do_send(const command& cmd) {
  std::vector<uint8_t> payload(cmd.argument.begin(), cmd.argument.end());
  with_peer(cmd.target, [s = self, priority = cmd.priority,
                         payload = std::move(payload)](
                          const crust::peer_id& peer) mutable {
    auto size = payload.size();
    s->request(s->state.cfg.service, s->state.cfg.command_timeout, atom::send_v,
               peer, priority, std::move(payload))
      .then(
        [s, peer, priority, size](uint64_t queued) {
          s->state.succeed(s->state.format->sent(peer, priority, size, queued));
        },
        [s](caf::error& err) {
          s->state.fail(err);
        });
  });
}

void console_state::do_send_file(const command& cmd) {
  auto file_name = base_name(cmd.argument);
  auto limit = cfg.max_message_size > file_overhead(file_name)
                 ? cfg.max_message_size - file_overhead(file_name)
                 : 0;
  std::vector<uint8_t> content;
  uint64_t size = 0;
  if (auto err = read_file(cmd.argument, limit, content, size); !err.empty()) {
    fail(error_text{"file_io", "crust-node", err});
    return;
  }
  if (size > limit) {
    fail(crust_error(crust::errc::message_too_large,
                     cmd.argument + " has " + std::to_string(size)
                       + " bytes; at most " + std::to_string(limit)
                       + " fit in one message (crust.max-message-size)"));
    return;
  }
  auto sha = sha256_hex(content);
  auto payload = encode_file_message(file_name, content);
  with_peer(cmd.target, [s = self, priority = cmd.priority, name = file_name,
                         size, sha, payload = std::move(payload)](
                          const crust::peer_id& peer) mutable {
    s->request(s->state.cfg.service, s->state.cfg.command_timeout, atom::send_v,
               peer, priority, std::move(payload))
      .then(
        [s, peer, priority, name, size, sha](uint64_t queued) {
          s->state.succeed(s->state.format->file_sent(
            peer, priority, name, static_cast<size_t>(size), sha, queued));
        },
        [s](caf::error& err) {
          s->state.fail(err);
        });
  });
}

void console_state::do_ban(const command& cmd) {
  auto duration = cmd.duration;
  auto timeout = cfg.command_timeout;
  auto reply = [s = self, duration](const crust::ban_set& newly) {
    s->state.succeed(s->state.format->banned(newly, duration));
  };
  auto on_error = [s = self](caf::error& err) {
    s->state.fail(err);
  };
  if (crust::ip_address::parse(cmd.target)) {
    with_blacklist([s = self, address = cmd.target, duration, timeout, reply,
                    on_error](crust::blacklist_actor bl) {
      if (duration)
        s->request(bl, timeout, atom::ban_v, address, *duration)
          .then(reply, on_error);
      else
        s->request(bl, timeout, atom::ban_v, address).then(reply, on_error);
    });
    return;
  }
  with_peer(cmd.target, [s = self, duration, timeout, reply,
                         on_error](const crust::peer_id& peer) {
    s->state.with_blacklist(
      [s, peer, duration, timeout, reply, on_error](crust::blacklist_actor bl) {
        std::vector<crust::peer_id> peers{peer};
        if (duration)
          s->request(bl, timeout, atom::ban_v, std::move(peers), *duration)
            .then(reply, on_error);
        else
          s->request(bl, timeout, atom::ban_v, std::move(peers))
            .then(reply, on_error);
      });
  });
}

void console_state::do_unban(const command& cmd) {
  auto timeout = cfg.command_timeout;
  auto target = cmd.target;
  auto reply = [s = self, target](bool was_banned) {
    s->state.succeed(s->state.format->unbanned(target, was_banned));
  };
  auto on_error = [s = self](caf::error& err) {
    s->state.fail(err);
  };
  if (crust::ip_address::parse(target)) {
    with_blacklist(
      [s = self, target, timeout, reply, on_error](crust::blacklist_actor bl) {
        s->request(bl, timeout, atom::unban_v, target).then(reply, on_error);
      });
    return;
  }
  // A banned peer is not connected: only a full id names it.
  auto id = crust::peer_id::parse(target);
  if (!id) {
    fail(crust::to_error(id.error()));
    return;
  }
  with_blacklist([s = self, peer = *id, timeout, reply,
                  on_error](crust::blacklist_actor bl) {
    s->request(bl, timeout, atom::unban_v, peer).then(reply, on_error);
  });
}

void console_state::flush_then_stop() {
  auto done = [s = self] {
    auto& st = s->state;
    st.print(st.format->quitting());
    st.current.reset();
    st.cfg.stop(st.argument_failed ? stop_reason::quit_after_failure
                                   : stop_reason::quit);
  };
  self->request(cfg.service, cfg.command_timeout, atom::get_v, atom::stats_v)
    .then(
      [s = self, done](const crust::service_stats& x) {
        bool empty = std::all_of(x.connections.begin(), x.connections.end(),
                                 [](const crust::connection_stats& c) {
                                   return c.queued_messages == 0
                                          && c.unflushed_bytes == 0;
                                 });
        if (empty || caf::make_timestamp() >= s->state.flush_deadline) {
          done();
          return;
        }
        s->delayed_send(s, flush_poll_interval, atom::tick_v);
      },
      [done](caf::error&) {
        done();
      });
}

// -- events -------------------------------------------------------------------

void console_state::on_message(const crust::new_message& x) {
  auto file = decode_file_message(x.payload);
  if (!file) {
    print(format->message(x));
    return;
  }
  std::string path;
  std::string error;
  if (!cfg.recv_dir.empty())
    error = save_received_file(cfg.recv_dir, file->name, file->content, path);
  print(format->file_received(x.peer, x.priority, *file, path, error));
}

console_actor::behavior_type
console(console_actor::stateful_pointer<console_state> self,
        console_config cfg) {
  auto& state = self->state;
  state.self = self;
  state.format.emplace(cfg.mode, [&sys = self->system()](const caf::error& x) {
    return sys.render(x);
  });
  state.cfg = std::move(cfg);
  self->send(state.cfg.service, atom::subscribe_v,
             caf::actor_cast<crust::service_subscriber_actor>(self));
  self->monitor(state.cfg.service);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source != st.cfg.service.address())
      return;
    st.print(st.format->command_failed(std::nullopt, "", dm.reason));
    st.stopping = true;
    st.cfg.stop(stop_reason::fatal);
  });
  if (state.cfg.listen_first)
    state.queue.push_back({"listen", command_origin::startup});
  for (auto& line : state.cfg.commands)
    state.queue.push_back({line, command_origin::argument});
  state.run_next();
  return {
    [self](const crust::listener_started& x) {
      auto& st = self->state;
      if (st.cfg.port_mapper && st.mapped_port != x.port) {
        // An event, not a command: the mapping takes seconds and the
        // commands need not wait for it.
        st.mapped_port = x.port;
        self
          ->request(st.cfg.port_mapper, port_mapping_timeout, atom::add_v,
                    x.port)
          .then(
            [self](const crust::port_mapping& m) {
              self->state.print(self->state.format->port_mapped(m));
            },
            [self, port = x.port](caf::error& err) {
              self->state.print(
                self->state.format->port_mapping_failed(port, err));
            });
      }
      if (st.format->mode() == output_mode::json) {
        st.print(st.format->event(x));
      } else if (st.announced_port != x.port) {
        st.announced_port = x.port;
        st.print(st.format->event(x));
      }
    },
    [self](const crust::listener_failed& x) {
      self->state.print(self->state.format->event(x));
    },
    [self](const crust::connect_success& x) {
      auto& st = self->state;
      std::string found = "inbound";
      if (x.initiated) {
        auto i = st.found_by.find(x.peer);
        found = i != st.found_by.end() ? i->second
                : st.bootstrapping     ? "bootstrap"
                                       : "manual";
      }
      st.print(st.format->event(x, found));
    },
    [self](const crust::connect_failure& x) {
      self->state.print(self->state.format->event(x));
    },
    [self](const crust::lost_peer& x) {
      self->state.print(self->state.format->event(x));
    },
    [self](const crust::new_message& x) {
      self->state.on_message(x);
    },
    [self](const crust::peer_misbehaved& x) {
      self->state.print(self->state.format->event(x));
    },
    [self](const crust::message_too_large& x) {
      self->state.print(self->state.format->event(x));
    },
    [self](const crust::messages_dropped& x) {
      self->state.print(self->state.format->event(x));
    },
    [self](const crust::connection_info_prepared& x) {
      auto& st = self->state;
      // People saw our own info in the reply to `info`.
      if (st.format->mode() == output_mode::json
          || st.own_tokens.count(x.token) == 0)
        st.print(st.format->event(x));
    },
    [self](const crust::bootstrap_connect& x) {
      self->state.print(self->state.format->event(x));
    },
    [self](const crust::bootstrap_failed& x) {
      self->state.print(self->state.format->event(x));
    },
    [self](const crust::bootstrap_accept& x) {
      self->state.print(self->state.format->event(x));
    },
    [self](std::string& line) {
      self->state.enqueue({std::move(line), command_origin::input});
    },
    [self](atom::close) {
      self->state.enqueue({"quit", command_origin::input});
    },
    [self](atom::tick) {
      self->state.flush_then_stop();
    },
  };
}

} // namespace crust_node
