#include "crust/transport/noise/handshake_pattern.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>

namespace crust::noise {

namespace {

/// One base pattern in the notation of the spec: tokens separated by ',' and
/// messages by '|'. Adding a pattern means adding a line here.
struct pattern_entry {
  std::string_view name;
  std::string_view initiator_pre;
  std::string_view responder_pre;
  std::string_view messages;
};

constexpr pattern_entry pattern_table[] = {
  {"NN", "", "", "e | e, ee"},
  {"XX", "", "", "e | e, ee, s, es | s, se"},
  {"IK", "", "s", "e, es, s, ss | e, ee, se"},
  {"XK", "", "s", "e, es | e, ee | s, se"},
};

std::string_view trim(std::string_view x) {
  while (!x.empty() && x.front() == ' ')
    x.remove_prefix(1);
  while (!x.empty() && x.back() == ' ')
    x.remove_suffix(1);
  return x;
}

/// Splits `x` at every `sep`, trimming spaces.
std::vector<std::string_view> split(std::string_view x, char sep) {
  std::vector<std::string_view> result;
  for (;;) {
    auto pos = x.find(sep);
    result.push_back(trim(x.substr(0, pos)));
    if (pos == std::string_view::npos)
      return result;
    x.remove_prefix(pos + 1);
  }
}

constexpr std::array<token, 7> all_tokens = {
  token::e, token::s, token::ee, token::es, token::se, token::ss, token::psk,
};

/// Parses "e, es, s" (an empty string is an empty message).
std::vector<token> parse_tokens(std::string_view text) {
  std::vector<token> result;
  if (trim(text).empty())
    return result;
  for (auto word : split(text, ',')) {
    auto i = std::find_if(all_tokens.begin(), all_tokens.end(),
                          [word](token t) {
                            return to_string(t) == word;
                          });
    // The table is ours: a typo there is a programming error.
    if (i == all_tokens.end())
      std::abort();
    result.push_back(*i);
  }
  return result;
}

bool contains(const std::vector<token>& xs, token x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

/// Spec 9.3: after a psk token, a party must not encrypt (a static key or a
/// payload) before it has sent an ephemeral key. A psk token sets a key, so
/// everything a party sends after one is encrypted.
bool psk_rule_holds(const handshake_pattern& p) {
  bool sent_e[2] = {contains(p.initiator_pre, token::e),
                    contains(p.responder_pre, token::e)};
  bool psk_seen = false;
  for (size_t i = 0; i < p.messages.size(); ++i) {
    auto writer = i % 2;
    for (auto t : p.messages[i]) {
      if (t == token::e)
        sent_e[writer] = true;
      else if (t == token::psk)
        psk_seen = true;
      else if (t == token::s && psk_seen && !sent_e[writer])
        return false;
    }
    // Every message ends with a payload.
    if (psk_seen && !sent_e[writer])
      return false;
  }
  return true;
}

} // namespace

std::string_view to_string(token x) noexcept {
  switch (x) {
    case token::e: return "e";
    case token::s: return "s";
    case token::ee: return "ee";
    case token::es: return "es";
    case token::se: return "se";
    case token::ss: return "ss";
    case token::psk: return "psk";
  }
  return "?";
}

size_t handshake_pattern::psk_count() const noexcept {
  size_t n = 0;
  for (const auto& msg : messages)
    n += static_cast<size_t>(std::count(msg.begin(), msg.end(), token::psk));
  return n;
}

bool handshake_pattern::needs_local_static(bool initiator) const noexcept {
  const auto& pre = initiator ? initiator_pre : responder_pre;
  if (contains(pre, token::s))
    return true;
  // DH tokens name the initiator's key first: "se" uses the initiator's s.
  auto own_dh = initiator ? token::se : token::es;
  for (size_t i = 0; i < messages.size(); ++i) {
    bool mine = (i % 2 == 0) == initiator;
    for (auto t : messages[i])
      if ((t == token::s && mine) || t == own_dh || t == token::ss)
        return true;
  }
  return false;
}

bool handshake_pattern::needs_remote_static(bool initiator) const noexcept {
  return contains(initiator ? responder_pre : initiator_pre, token::s);
}

bool handshake_pattern::transmits_remote_static(bool initiator) const noexcept {
  for (size_t i = 0; i < messages.size(); ++i) {
    bool theirs = (i % 2 == 0) != initiator;
    if (theirs && contains(messages[i], token::s))
      return true;
  }
  return false;
}

expected<handshake_pattern> make_pattern(std::string_view name) {
  auto unsupported = [name](const char* why) {
    return failure{errc::unsupported_protocol,
                   "pattern \"" + std::string{name} + "\": " + why};
  };
  // The base name ends where the first modifier (lower case) begins.
  auto base_end = std::find_if(name.begin(), name.end(), [](char c) {
    return c >= 'a' && c <= 'z';
  });
  auto base = name.substr(0, static_cast<size_t>(base_end - name.begin()));
  auto entry = std::find_if(std::begin(pattern_table), std::end(pattern_table),
                            [base](const auto& x) {
                              return x.name == base;
                            });
  if (entry == std::end(pattern_table))
    return unsupported("unknown base pattern (supported: NN, XX, IK, XK)");
  handshake_pattern result;
  result.name = std::string{name};
  result.initiator_pre = parse_tokens(entry->initiator_pre);
  result.responder_pre = parse_tokens(entry->responder_pre);
  for (auto msg : split(entry->messages, '|'))
    result.messages.push_back(parse_tokens(msg));
  auto modifiers = name.substr(base.size());
  if (modifiers.empty())
    return result;
  std::vector<bool> used(result.messages.size() + 1, false);
  for (auto mod : split(modifiers, '+')) {
    // Only pskN (spec 9.2); fallback and others are not supported.
    if (mod.size() != 4 || mod.substr(0, 3) != "psk" || mod[3] < '0'
        || mod[3] > '9')
      return unsupported("unsupported modifier");
    auto n = static_cast<size_t>(mod[3] - '0');
    if (n > result.messages.size())
      return unsupported("psk modifier beyond the last message");
    if (used[n])
      return unsupported("psk modifier given twice");
    used[n] = true;
    if (n == 0) {
      auto& first = result.messages.front();
      first.insert(first.begin(), token::psk);
    } else {
      result.messages[n - 1].push_back(token::psk);
    }
  }
  if (!psk_rule_holds(result))
    return unsupported("a party would encrypt after a psk token before "
                       "sending an ephemeral key (spec 9.3)");
  return result;
}

} // namespace crust::noise
