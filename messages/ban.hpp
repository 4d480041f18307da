#pragma once

#include "crust/messages/peer_id.hpp"

#include <caf/meta/type_name.hpp>
#include <caf/timespan.hpp>

#include <string>
#include <vector>

/// The BLACKLIST's vocabulary (messages/interfaces.hpp): what a ban request
/// answers, what subscribers are told, what `list` reports. Addresses are IP
/// addresses in canonical text (`inet_ntop` form; an IPv4-mapped IPv6 address
/// is written as IPv4), without a port.
namespace crust {

/// Peers and addresses banned together by one request, sorted. It is the
/// reply to a ban or load request (only what was not banned before) and the
/// payload of the `banned` notification, so that the SUPERVISOR disconnects
/// all of them in one go.
struct ban_set {
  /// Newly banned peers, in ascending order.
  std::vector<peer_id> peers;

  /// Newly banned addresses in canonical text, in ascending order.
  std::vector<std::string> addresses;

  /// True if the set names neither a peer nor an address.
  bool empty() const noexcept {
    return peers.empty() && addresses.empty();
  }
};

inline bool operator==(const ban_set& x, const ban_set& y) {
  return x.peers == y.peers && x.addresses == y.addresses;
}

inline bool operator!=(const ban_set& x, const ban_set& y) {
  return !(x == y);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, ban_set& x) {
  return f(caf::meta::type_name("ban_set"), x.peers, x.addresses);
}

/// One peer ban as `list` reports it.
struct peer_ban {
  /// The banned peer.
  peer_id peer;

  /// False for a ban that lasts for the session.
  bool expires = false;

  /// Time left until the ban expires; zero if it does not expire.
  caf::timespan remaining{0};
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_ban& x) {
  return f(caf::meta::type_name("peer_ban"), x.peer, x.expires, x.remaining);
}

/// One address ban as `list` reports it.
struct address_ban {
  /// The banned IP address in canonical text.
  std::string address;

  /// False for a ban that lasts for the session.
  bool expires = false;

  /// Time left until the ban expires; zero if it does not expire.
  caf::timespan remaining{0};
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, address_ban& x) {
  return f(caf::meta::type_name("address_ban"), x.address, x.expires,
           x.remaining);
}

/// Every ban in force, as `list` reports it: peers in ascending order of
/// their ids, addresses in ascending order of their text.
struct ban_list {
  std::vector<peer_ban> peers;
  std::vector<address_ban> addresses;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, ban_list& x) {
  return f(caf::meta::type_name("ban_list"), x.peers, x.addresses);
}

} // namespace crust
