// The parser of /proc/net/snmp and /proc/net/netstat that crust-bench's
// namespace section reads TCP's retransmission counters with
// (apps/crust-bench/netns_posix.hpp).

#include "netns_posix.hpp"

#include <boost/test/unit_test.hpp>
#include <stdexcept>

using crust::bench::netns::parse_proc_table;

BOOST_AUTO_TEST_SUITE(crust_bench_netns_parts)

BOOST_AUTO_TEST_CASE(pairs_of_lines_become_section_dot_name) {
  auto t = parse_proc_table("Ip: Forwarding DefaultTTL\n"
                            "Ip: 1 64\n"
                            "Tcp: RtoAlgorithm MaxConn RetransSegs\n"
                            "Tcp: 1 -1 42\n"
                            "TcpExt: TCPTimeouts TCPFastRetrans\n"
                            "TcpExt: 3 17\n");
  BOOST_CHECK_EQUAL(t.at("Ip.DefaultTTL"), 64u);
  BOOST_CHECK_EQUAL(t.at("Tcp.RetransSegs"), 42u);
  BOOST_CHECK_EQUAL(t.at("TcpExt.TCPTimeouts"), 3u);
  BOOST_CHECK_EQUAL(t.at("TcpExt.TCPFastRetrans"), 17u);
  // Negative values (MaxConn is -1) are left out, not wrapped.
  BOOST_CHECK(t.count("Tcp.MaxConn") == 0);
}

BOOST_AUTO_TEST_CASE(lines_that_do_not_pair_up_are_skipped) {
  auto t = parse_proc_table("Tcp: A B\n"
                            "Tcp: 1\n" // too few values
                            "Udp: X\n"
                            "Ip: 5\n" // another section
                            "TcpExt: Y Z\n"
                            "TcpExt: 7 x\n" // not a number
                            "Odd: W\n");    // no value line
  BOOST_CHECK(t.count("Tcp.A") == 0);
  BOOST_CHECK(t.count("Udp.X") == 0);
  BOOST_CHECK_EQUAL(t.at("TcpExt.Y"), 7u);
  BOOST_CHECK(t.count("TcpExt.Z") == 0);
  BOOST_CHECK(parse_proc_table("").empty());
}

BOOST_AUTO_TEST_CASE(ipv4_rejects_what_is_not_a_dotted_quad) {
  auto a = crust::bench::netns::ipv4("10.250.0.2", 20000);
  BOOST_CHECK_EQUAL(ntohs(a.sin_port), 20000);
  BOOST_CHECK_THROW(crust::bench::netns::ipv4("10.250.0", 1),
                    std::runtime_error);
  BOOST_CHECK_THROW(crust::bench::netns::ipv4("::1", 1), std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()
