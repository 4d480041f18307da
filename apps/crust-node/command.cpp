#include "command.hpp"

#include "crust/messages/peer_id.hpp"
#include "crust/transport/codec/endpoint.hpp"

#include <cctype>
#include <chrono>
#include <utility>

namespace crust_node {

namespace {

struct verb_info {
  command_kind kind;
  std::string_view name;
  std::string_view usage;
};

constexpr verb_info verbs[] = {
  {command_kind::listen, "listen", "listen"},
  {command_kind::stop_listen, "stop-listen", "stop-listen"},
  {command_kind::connect, "connect", "connect PEERID@HOST:PORT"},
  {command_kind::connect_info, "connect-info", "connect-info crustinfo:..."},
  {command_kind::info, "info", "info"},
  {command_kind::send, "send", "send [-p N] PEER TEXT"},
  {command_kind::send_file, "send-file", "send-file [-p N] PEER PATH"},
  {command_kind::peers, "peers", "peers"},
  {command_kind::disconnect, "disconnect", "disconnect PEER"},
  {command_kind::ban, "ban", "ban PEER|IP [DURATION]"},
  {command_kind::unban, "unban", "unban PEER|IP"},
  {command_kind::bans, "bans", "bans"},
  {command_kind::stats, "stats", "stats"},
  {command_kind::bootstrap, "bootstrap", "bootstrap"},
  {command_kind::learned, "learned", "learned"},
  {command_kind::connect_learned, "connect-learned", "connect-learned"},
  {command_kind::echo, "echo", "echo PEER"},
  {command_kind::help, "help", "help"},
  {command_kind::quit, "quit", "quit"},
};

const verb_info& info_of(command_kind kind) {
  for (const auto& v : verbs)
    if (v.kind == kind)
      return v;
  return verbs[0]; // unreachable: every kind is in the table
}

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_space(text.back()))
    text.remove_suffix(1);
  return text;
}

/// Splits off the first word of `rest` (which must be trimmed on the left);
/// `rest` keeps what follows, without the spaces in between.
std::string_view next_word(std::string_view& rest) noexcept {
  size_t end = 0;
  while (end < rest.size() && !is_space(rest[end]))
    ++end;
  auto word = rest.substr(0, end);
  rest.remove_prefix(end);
  while (!rest.empty() && is_space(rest.front()))
    rest.remove_prefix(1);
  return word;
}

/// Readable form of user input in an error message.
std::string quoted(std::string_view text) {
  std::string out = "'";
  for (auto c : text.substr(0, 80)) {
    auto byte = static_cast<unsigned char>(c);
    out += byte < 0x20 || byte == 0x7f ? '?' : c;
  }
  if (text.size() > 80)
    out += "...";
  out += "'";
  return out;
}

parsed_line fail(command_kind kind, std::string what) {
  parsed_line out;
  out.error = std::string{to_string(kind)} + ": " + std::move(what)
              + " (usage: " + std::string{info_of(kind).usage} + ")";
  return out;
}

parsed_line done(command cmd) {
  parsed_line out;
  out.cmd = std::move(cmd);
  return out;
}

/// Reads an optional `-p N` / `--priority=N` in front of the arguments.
bool read_priority(std::string_view& rest, command& cmd, std::string& error) {
  std::string_view value;
  if (rest.substr(0, 3) == "-p " || rest == "-p") {
    next_word(rest);
    value = next_word(rest);
  } else if (rest.substr(0, 11) == "--priority=") {
    auto word = next_word(rest);
    value = word.substr(11);
  } else {
    return true;
  }
  if (value.empty() || value.size() > 3) {
    error = "priority must be a number from 0 to 255, got " + quoted(value);
    return false;
  }
  unsigned n = 0;
  for (auto c : value) {
    if (c < '0' || c > '9') {
      error = "priority must be a number from 0 to 255, got " + quoted(value);
      return false;
    }
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  if (n > 255) {
    error = "priority must be a number from 0 to 255, got " + quoted(value);
    return false;
  }
  cmd.priority = static_cast<uint8_t>(n);
  return true;
}

bool is_ip(std::string_view text) {
  return static_cast<bool>(crust::ip_address::parse(text));
}

} // namespace

std::string_view to_string(command_kind x) noexcept {
  return info_of(x).name;
}

bool is_peer_prefix(std::string_view text) noexcept {
  if (text.empty() || text.size() > crust::peer_id::hex_size)
    return false;
  for (auto c : text)
    if (!std::isxdigit(static_cast<unsigned char>(c)))
      return false;
  return true;
}

std::optional<caf::timespan> parse_duration(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
    ++digits;
  if (digits == 0 || digits > 12)
    return std::nullopt;
  uint64_t n = 0;
  for (size_t i = 0; i < digits; ++i)
    n = n * 10 + static_cast<uint64_t>(text[i] - '0');
  if (n == 0)
    return std::nullopt;
  auto unit = text.substr(digits);
  using namespace std::chrono;
  // At most 100 years: more would overflow a timespan (nanoseconds).
  constexpr uint64_t max_seconds = uint64_t{100} * 365 * 24 * 3600;
  uint64_t factor_ms;
  if (unit == "ms")
    factor_ms = 1;
  else if (unit == "s")
    factor_ms = 1000;
  else if (unit == "min")
    factor_ms = 60'000;
  else if (unit == "h")
    factor_ms = 3'600'000;
  else if (unit == "d")
    factor_ms = 86'400'000;
  else
    return std::nullopt;
  if (n > max_seconds * 1000 / factor_ms)
    return std::nullopt;
  return caf::timespan{milliseconds{static_cast<int64_t>(n * factor_ms)}};
}

parsed_line parse_line(std::string_view line) {
  auto rest = trim(line);
  if (rest.empty() || rest.front() == '#') {
    parsed_line out;
    out.empty = true;
    return out;
  }
  auto verb = next_word(rest);
  const verb_info* found = nullptr;
  for (const auto& v : verbs)
    if (v.name == verb)
      found = &v;
  if (verb == "exit")
    found = &info_of(command_kind::quit);
  if (found == nullptr) {
    parsed_line out;
    out.error = "unknown command " + quoted(verb) + " (type help for a list)";
    return out;
  }
  command cmd;
  cmd.kind = found->kind;
  switch (cmd.kind) {
    case command_kind::listen:
    case command_kind::stop_listen:
    case command_kind::info:
    case command_kind::peers:
    case command_kind::bans:
    case command_kind::stats:
    case command_kind::bootstrap:
    case command_kind::learned:
    case command_kind::connect_learned:
    case command_kind::help:
    case command_kind::quit:
      if (!rest.empty())
        return fail(cmd.kind, "unexpected argument " + quoted(rest));
      return done(std::move(cmd));
    case command_kind::connect:
    case command_kind::connect_info: {
      auto arg = next_word(rest);
      if (arg.empty())
        return fail(cmd.kind, "missing argument");
      if (!rest.empty())
        return fail(cmd.kind, "unexpected argument " + quoted(rest));
      cmd.argument = std::string{arg};
      return done(std::move(cmd));
    }
    case command_kind::send:
    case command_kind::send_file: {
      std::string error;
      if (!read_priority(rest, cmd, error))
        return fail(cmd.kind, std::move(error));
      auto peer = next_word(rest);
      if (peer.empty())
        return fail(cmd.kind, "missing PEER");
      if (!is_peer_prefix(peer))
        return fail(cmd.kind, "PEER must be a peer id or a hex prefix of "
                              "one, got "
                                + quoted(peer));
      if (rest.empty())
        return fail(cmd.kind, cmd.kind == command_kind::send ? "missing TEXT"
                                                             : "missing PATH");
      cmd.target = std::string{peer};
      cmd.argument = std::string{rest};
      return done(std::move(cmd));
    }
    case command_kind::disconnect:
    case command_kind::echo: {
      auto peer = next_word(rest);
      if (peer.empty())
        return fail(cmd.kind, "missing PEER");
      if (!is_peer_prefix(peer))
        return fail(cmd.kind, "PEER must be a peer id or a hex prefix of "
                              "one, got "
                                + quoted(peer));
      if (!rest.empty())
        return fail(cmd.kind, "unexpected argument " + quoted(rest));
      cmd.target = std::string{peer};
      return done(std::move(cmd));
    }
    case command_kind::ban:
    case command_kind::unban: {
      auto target = next_word(rest);
      if (target.empty())
        return fail(cmd.kind, "missing PEER or IP");
      if (!is_ip(target) && !is_peer_prefix(target))
        return fail(cmd.kind,
                    quoted(target) + " is neither an IP address nor a peer id");
      cmd.target = std::string{target};
      if (cmd.kind == command_kind::ban && !rest.empty()) {
        auto text = next_word(rest);
        cmd.duration = parse_duration(text);
        if (!cmd.duration)
          return fail(cmd.kind, "DURATION must be a positive number with "
                                "a unit (ms, s, min, h, d), got "
                                  + quoted(text));
      }
      if (!rest.empty())
        return fail(cmd.kind, "unexpected argument " + quoted(rest));
      return done(std::move(cmd));
    }
  }
  return fail(cmd.kind, "unsupported"); // unreachable
}

const std::vector<std::string>& command_usage() {
  static const std::vector<std::string> lines = [] {
    std::vector<std::string> out;
    for (const auto& v : verbs)
      out.emplace_back(v.usage);
    return out;
  }();
  return lines;
}

} // namespace crust_node
