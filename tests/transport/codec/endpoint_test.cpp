#include "crust/transport/codec/endpoint.hpp"

#include "support/engine_test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

using namespace crust;

namespace {

const std::string id_hex
  = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// Expects `result` to fail with `code` and a detail holding every one of
/// `parts`.
template<class T>
void check_failure(const expected<T>& result, errc code,
                   const std::vector<std::string>& parts) {
  BOOST_REQUIRE(!result);
  BOOST_CHECK_EQUAL(result.error().code, code);
  for (auto& part : parts)
    BOOST_CHECK_MESSAGE(result.error().detail.find(part) != std::string::npos,
                        '"' << result.error().detail << "\" lacks \"" << part
                            << '"');
}

/// The error message of `x`, or "" (Boost.Test builds messages eagerly).
template<class T>
std::string error_of(const expected<T>& x) {
  return x ? std::string{} : x.error().message();
}

endpoint ep(const std::string& text) {
  auto res = endpoint::parse(text);
  BOOST_REQUIRE_MESSAGE(res, text << ": " << error_of(res));
  return *res;
}

} // namespace

BOOST_AUTO_TEST_SUITE(endpoint_suite)

BOOST_AUTO_TEST_CASE(ipv4_addresses) {
  auto ip = ip_address::parse("192.0.2.1");
  BOOST_REQUIRE(ip);
  BOOST_TEST(ip->is_v4());
  BOOST_CHECK_EQUAL(ip->size(), 4u);
  BOOST_CHECK_EQUAL(ip->data()[0], 192);
  BOOST_CHECK_EQUAL(ip->data()[3], 1);
  BOOST_CHECK_EQUAL(ip->to_string(), "192.0.2.1");
  BOOST_TEST(!ip->is_loopback());
  BOOST_TEST(ip_address::parse("127.8.9.10")->is_loopback());
  BOOST_TEST(ip_address::parse("0.0.0.0")->is_unspecified());
  BOOST_TEST(ip_address{}.is_unspecified());
  BOOST_TEST(ip_address{}.is_v4());
  BOOST_CHECK(*ip == ip_address::v4({192, 0, 2, 1}));
}

BOOST_AUTO_TEST_CASE(ipv6_addresses_print_canonically) {
  auto ip = ip_address::parse("2001:DB8:0:0:0:0:0:1");
  BOOST_REQUIRE(ip);
  BOOST_TEST(ip->is_v6());
  BOOST_CHECK_EQUAL(ip->size(), 16u);
  BOOST_CHECK_EQUAL(ip->to_string(), "2001:db8::1");
  BOOST_TEST(ip_address::parse("::1")->is_loopback());
  BOOST_TEST(ip_address::parse("::")->is_unspecified());
  BOOST_TEST(!ip_address::parse("::2")->is_loopback());
  auto mapped = ip_address::parse("::ffff:192.0.2.1");
  BOOST_REQUIRE(mapped);
  BOOST_TEST(mapped->is_v6());
  BOOST_CHECK_EQUAL(mapped->to_string(), "::ffff:192.0.2.1");
  // An IPv4-mapped address is not the IPv4 address.
  BOOST_CHECK(*mapped != *ip_address::parse("192.0.2.1"));
  std::string longest = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
  BOOST_CHECK_EQUAL(longest.size(), ip_address::max_text_size);
  auto ip6 = ip_address::parse(longest);
  BOOST_REQUIRE(ip6);
  BOOST_CHECK_LE(ip6->to_string().size(), ip_address::max_text_size);
  BOOST_CHECK(!ip_address::parse("0" + longest));
}

BOOST_AUTO_TEST_CASE(address_order) {
  auto a = *ip_address::parse("10.0.0.1");
  auto b = *ip_address::parse("10.0.0.2");
  auto c = *ip_address::parse("::1");
  BOOST_TEST(a < b);
  BOOST_TEST(b < c); // IPv4 before IPv6
  BOOST_TEST(!(c < a));
  BOOST_TEST(a == a);
}

BOOST_AUTO_TEST_CASE(address_errors) {
  check_failure(ip_address::parse(""), errc::bad_address,
                {"missing address at position 0"});
  check_failure(ip_address::parse("1.2.3"), errc::bad_address,
                {"'1.2.3' at position 0 is not a valid IPv4 address"});
  check_failure(ip_address::parse("1.2.3.256"), errc::bad_address,
                {"not a valid IPv4 address"});
  check_failure(ip_address::parse("01.2.3.4"), errc::bad_address,
                {"not a valid IPv4 address", "leading zeros"});
  check_failure(ip_address::parse("1.2.3.4.5.6.7.8.9"), errc::bad_address,
                {"not a valid IPv4 address"});
  check_failure(ip_address::parse("1.2.3.4/8"), errc::bad_address,
                {"invalid character '/' at position 7"});
  check_failure(ip_address::parse("example.com"), errc::bad_address,
                {"'example.com' at position 0 is a host name",
                 "only literal IP addresses"});
  check_failure(ip_address::parse("1:2:3"), errc::bad_address,
                {"'1:2:3' at position 0 is not a valid IPv6 address"});
  check_failure(ip_address::parse("fe80::1%eth0"), errc::bad_address,
                {"zone id '%eth0' at position 7 is not supported"});
  check_failure(ip_address::parse("::g"), errc::bad_address,
                {"invalid character 'g' at position 2"});
  check_failure(ip_address::parse("1.2.3.\x01"), errc::bad_address,
                {"invalid character '\\x01' at position 6"});
  check_failure(ip_address::parse(std::string(100, ':')), errc::bad_address,
                {"not a valid IPv6 address"});
}

BOOST_AUTO_TEST_CASE(endpoint_round_trips) {
  struct {
    const char* text;
    const char* printed;
  } cases[] = {
    {"192.0.2.1:5483", "192.0.2.1:5483"},
    {"[2001:db8::1]:5483", "[2001:db8::1]:5483"},
    {"[2001:DB8:0::1]:1", "[2001:db8::1]:1"},
    {"tcp://10.0.0.1:65535", "10.0.0.1:65535"},
    {"udp://10.0.0.1:80", "udp://10.0.0.1:80"},
    {"udp://[::1]:7", "udp://[::1]:7"},
    {"[::ffff:192.0.2.1]:9", "[::ffff:192.0.2.1]:9"},
    {"1.2.3.4:00080", "1.2.3.4:80"},
  };
  for (auto& c : cases) {
    BOOST_TEST_CONTEXT(c.text) {
      auto x = ep(c.text);
      BOOST_CHECK_EQUAL(x.to_string(), c.printed);
      BOOST_CHECK_EQUAL(ep(x.to_string()), x);
    }
  }
  auto x = ep("udp://[2001:db8::2]:4000");
  BOOST_CHECK(x.protocol == transport_protocol::udp);
  BOOST_CHECK_EQUAL(x.ip, *ip_address::parse("2001:db8::2"));
  BOOST_CHECK_EQUAL(x.port, 4000);
  BOOST_CHECK(ep("1.2.3.4:5").protocol == transport_protocol::tcp);
  BOOST_CHECK_EQUAL(to_string(transport_protocol::tcp), "tcp");
  BOOST_CHECK_EQUAL(to_string(transport_protocol::udp), "udp");
}

BOOST_AUTO_TEST_CASE(endpoint_order) {
  BOOST_TEST(ep("1.2.3.4:5") < ep("1.2.3.4:6"));
  BOOST_TEST(ep("1.2.3.4:6") < ep("1.2.3.5:5"));
  BOOST_TEST(ep("9.9.9.9:9") < ep("udp://1.1.1.1:1")); // tcp first
  BOOST_TEST(ep("1.2.3.4:5") != ep("udp://1.2.3.4:5"));
}

BOOST_AUTO_TEST_CASE(endpoint_errors) {
  struct {
    const char* text;
    std::vector<std::string> parts;
  } cases[] = {
    {"", {"missing address at position 0"}},
    {":80", {"missing address at position 0"}},
    {"1.2.3.4", {"missing ':port' after the address at position 7"}},
    {"1.2.3.4:", {"missing port after ':' at position 8"}},
    {"1.2.3.4:0", {"port 0 at position 8", "1 to 65535"}},
    {"1.2.3.4:65536", {"port '65536' at position 8 is out of range"}},
    {"1.2.3.4:99999999999999999999", {"at position 8 is out of range"}},
    {"1.2.3.4:-1", {"invalid character '-' at position 8"}},
    {"1.2.3.4:80x", {"unexpected character 'x' at position 10 after the port"}},
    {"1.2.3.4:80 ", {"unexpected character ' ' at position 10"}},
    {"1.2.3.4:80/", {"unexpected character '/' at position 10"}},
    {"::1:80", {"second ':' at position 1", "must be in brackets"}},
    {"2001:db8::1", {"second ':' at position 8", "must be in brackets"}},
    {"1.2.3.4:5:6", {"second ':' at position 9"}},
    {"[::1]", {"missing ':port' after ']' at position 4"}},
    {"[::1]80", {"unexpected character '8' at position 5 after ']'"}},
    {"[::1:80", {"missing ']' for the '[' at position 0"}},
    {"[]:80", {"missing address at position 1"}},
    {"[1.2.3.4]:80", {"brackets at position 0 are for IPv6 addresses only"}},
    {"[::1]:0", {"port 0 at position 6"}},
    {"[fe80::1%eth0]:80", {"zone id '%eth0' at position 8"}},
    {"example.com:80", {"'example.com' at position 0 is a host name"}},
    {"localhost:80", {"is a host name"}},
    {"[example.com]:80", {"is a host name"}},
    {"udp://example.com:80", {"at position 6 is a host name"}},
    {"sctp://1.2.3.4:80", {"unknown transport 'sctp://' at position 0"}},
    {"UDP://1.2.3.4:80", {"unknown transport 'UDP://'"}},
    {"udp://", {"missing address at position 6"}},
    {"udp://[::1]:0", {"port 0 at position 12"}},
    {"1.2.3.4\n:80", {"invalid character '\\x0a' at position 7"}},
  };
  for (auto& c : cases) {
    BOOST_TEST_CONTEXT('"' << c.text << '"') {
      check_failure(endpoint::parse(c.text), errc::bad_address, c.parts);
    }
  }
  // The detail is readable on its own, after the code's sentence.
  BOOST_CHECK_EQUAL(endpoint::parse("1.2.3.4:0").error().message(),
                    "malformed address or contact: port 0 at position 8: "
                    "ports are 1 to 65535");
}

BOOST_AUTO_TEST_CASE(contact_round_trips) {
  struct {
    std::string text;
    std::string printed;
  } cases[] = {
    {id_hex + "@192.0.2.1:5483", id_hex + "@192.0.2.1:5483"},
    {id_hex + "@[2001:db8::1]:5483", id_hex + "@[2001:db8::1]:5483"},
    {"udp://" + id_hex + "@[::1]:9", "udp://" + id_hex + "@[::1]:9"},
    {"tcp://" + id_hex + "@10.1.2.3:4", id_hex + "@10.1.2.3:4"},
    {"00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF"
     "@[2001:0DB8::0001]:65535",
     id_hex + "@[2001:db8::1]:65535"},
  };
  for (auto& c : cases) {
    BOOST_TEST_CONTEXT(c.text) {
      auto x = contact::parse(c.text);
      BOOST_REQUIRE_MESSAGE(x, error_of(x));
      BOOST_CHECK_EQUAL(x->id.to_hex(), id_hex);
      BOOST_CHECK_EQUAL(x->to_string(), c.printed);
      BOOST_CHECK_EQUAL(to_string(*x), c.printed);
      auto y = contact::parse(x->to_string());
      BOOST_REQUIRE(y);
      BOOST_CHECK(*x == *y);
    }
  }
  auto x = contact::parse("udp://" + id_hex + "@[::1]:9");
  BOOST_CHECK(x->addr.protocol == transport_protocol::udp);
  BOOST_CHECK_EQUAL(x->addr, ep("udp://[::1]:9"));
}

BOOST_AUTO_TEST_CASE(contact_errors) {
  struct {
    std::string text;
    errc code;
    std::vector<std::string> parts;
  } cases[] = {
    {"192.0.2.1:5483", errc::bad_address, {"missing '@'", "PEERID@ip:port"}},
    {id_hex, errc::bad_address, {"missing '@'"}},
    {"@1.2.3.4:5", errc::bad_peer_id, {"expected 64 hex characters, got 0"}},
    {"abc@1.2.3.4:5",
     errc::bad_peer_id,
     {"before the '@'", "expected 64 hex characters, got 3"}},
    {"x" + id_hex.substr(1) + "@1.2.3.4:5",
     errc::bad_peer_id,
     {"invalid character 'x' at position 0"}},
    {id_hex.substr(0, 7) + "g" + id_hex.substr(8) + "@1.2.3.4:5",
     errc::bad_peer_id,
     {"invalid character 'g' at position 7"}},
    {"udp://" + id_hex.substr(0, 7) + "g" + id_hex.substr(8) + "@1.2.3.4:5",
     errc::bad_peer_id,
     {"invalid character 'g' at position 7",
      "counted from the peer id, which starts at position 6"}},
    {std::string(64, '0') + "@1.2.3.4:5",
     errc::bad_peer_id,
     {"all-zero peer id"}},
    {id_hex + "@", errc::bad_address, {"missing address at position 65"}},
    {id_hex + "@1.2.3.4", errc::bad_address, {"missing ':port'"}},
    {id_hex + "@1.2.3.4:0", errc::bad_address, {"port 0 at position 73"}},
    {id_hex + "@1.2.3.4:70000",
     errc::bad_address,
     {"port '70000' at position 73 is out of range"}},
    {id_hex + "@1.2.3.4:80garbage",
     errc::bad_address,
     {"unexpected character 'g' at position 75"}},
    {id_hex + "@2001:db8::1:80",
     errc::bad_address,
     {"second ':' at position 73", "must be in brackets"}},
    {id_hex + "@[2001:db8::1]:80@x",
     errc::bad_address,
     {"unexpected character '@' at position 81"}},
    {id_hex + "@1.2.3.999:80", errc::bad_address, {"not a valid IPv4"}},
    {id_hex + "@example.com:80",
     errc::bad_address,
     {"'example.com' at position 65 is a host name"}},
    {id_hex + "@udp://1.2.3.4:80",
     errc::bad_address,
     {"transport 'udp://' at position 65 must come first",
      "udp://PEERID@ip:port"}},
    {"quic://" + id_hex + "@1.2.3.4:80",
     errc::bad_address,
     {"unknown transport 'quic://' at position 0"}},
    {"udp://" + id_hex, errc::bad_address, {"missing '@'"}},
  };
  for (auto& c : cases) {
    BOOST_TEST_CONTEXT('"' << c.text << '"') {
      check_failure(contact::parse(c.text), c.code, c.parts);
    }
  }
}

BOOST_AUTO_TEST_CASE(every_prefix_of_a_contact_is_refused_cleanly) {
  // Truncated pastes: each prefix fails with a detail, or (cut inside the
  // port) names another port.
  auto full = "udp://" + id_hex + "@[2001:db8::1]:5483";
  for (size_t n = 0; n < full.size(); ++n) {
    auto res = contact::parse(full.substr(0, n));
    BOOST_TEST_CONTEXT(full.substr(0, n)) {
      if (res) {
        BOOST_CHECK_GE(n, full.size() - 3);
        BOOST_CHECK_NE(res->addr.port, 5483);
      } else {
        BOOST_CHECK(!res.error().detail.empty());
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
