#include "crust/transport/rudp/packet_format.hpp"
#include "crust/transport/rudp/range_set.hpp"

#include "support/engine_test_support.hpp"
#include "support/sim_network.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <set>
#include <vector>

using namespace crust;
using namespace crust::rudp;

// -- varints -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(varints_round_trip_at_every_length_boundary) {
  for (uint64_t x : {uint64_t{0}, uint64_t{63}, uint64_t{64}, uint64_t{16383},
                     uint64_t{16384}, (uint64_t{1} << 30) - 1,
                     uint64_t{1} << 30, max_varint}) {
    byte_buffer buf;
    write_varint(x, buf);
    BOOST_CHECK_EQUAL(buf.size(), varint_size(x));
    size_t pos = 0;
    auto y = read_varint(buf, pos);
    BOOST_REQUIRE(y);
    BOOST_CHECK_EQUAL(*y, x);
    BOOST_CHECK_EQUAL(pos, buf.size());
    // Every truncation fails.
    for (size_t n = 0; n < buf.size(); ++n) {
      size_t p = 0;
      BOOST_CHECK(!read_varint(const_byte_span{buf.data(), n}, p));
    }
  }
}

BOOST_AUTO_TEST_CASE(varints_match_rfc_9000_examples) {
  // RFC 9000 appendix A.1.
  auto v = test::from_hex("c2197c5eff14e88c");
  size_t pos = 0;
  BOOST_CHECK_EQUAL(*read_varint(v, pos), 151288809941952652u);
  v = test::from_hex("9d7f3e7d");
  pos = 0;
  BOOST_CHECK_EQUAL(*read_varint(v, pos), 494878333u);
  v = test::from_hex("7bbd");
  pos = 0;
  BOOST_CHECK_EQUAL(*read_varint(v, pos), 15293u);
}

// -- headers -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(handshake_headers_round_trip) {
  byte_buffer pkt;
  byte_buffer env{1, 1, 0, 2, 9, 9};
  write_handshake_packet(0x0102030405060708, 0x1112131415161718, env, pkt);
  BOOST_CHECK_EQUAL(pkt.size(), handshake_header_len + env.size());
  auto hdr = parse_header(pkt);
  BOOST_REQUIRE(hdr);
  BOOST_CHECK(hdr->type == packet_type::handshake);
  BOOST_CHECK_EQUAL(hdr->destination_id, 0x0102030405060708u);
  BOOST_CHECK_EQUAL(hdr->source_id, 0x1112131415161718u);
  BOOST_CHECK(hdr->body == const_byte_span{env});
  BOOST_CHECK_EQUAL(*peek_destination_id(pkt), 0x0102030405060708u);
}

BOOST_AUTO_TEST_CASE(only_a_first_handshake_datagram_opens_a_connection) {
  byte_buffer first;
  write_handshake_packet(no_connection_id, 99, byte_buffer{1, 1, 0, 1, 0},
                         first);
  BOOST_CHECK_EQUAL(*initial_source_id(first), 99u);
  byte_buffer answer;
  write_handshake_packet(99, 5, byte_buffer{1, 1, 0, 1, 0}, answer);
  BOOST_CHECK(!initial_source_id(answer));
  byte_buffer data;
  write_data_header(99, data);
  data.resize(data_packet_overhead, 0);
  BOOST_CHECK(!initial_source_id(data));
  BOOST_CHECK(!initial_source_id(byte_buffer{1}));
}

BOOST_AUTO_TEST_CASE(bad_headers_are_refused) {
  byte_buffer data;
  write_data_header(42, data);
  data.resize(data_packet_overhead, 0);
  BOOST_REQUIRE(parse_header(data));
  BOOST_CHECK_EQUAL(parse_header(data)->destination_id, 42u);
  auto code = [](const byte_buffer& b) {
    auto r = parse_header(b);
    return r ? errc::none : r.error().code;
  };
  for (size_t n = 0; n < data_packet_overhead; ++n)
    BOOST_CHECK_EQUAL(
      code(byte_buffer(data.begin(), data.begin() + static_cast<long>(n))),
      errc::malformed_message);
  auto v = data;
  v[0] = 7;
  BOOST_CHECK_EQUAL(code(v), errc::unknown_version);
  auto t = data;
  t[1] = 3;
  BOOST_CHECK_EQUAL(code(t), errc::malformed_message);
  auto zero = data;
  std::fill(zero.begin() + 2, zero.begin() + 10, 0);
  BOOST_CHECK_EQUAL(code(zero), errc::malformed_message);
  byte_buffer hs;
  write_handshake_packet(1, 0, byte_buffer{1}, hs);
  BOOST_CHECK_EQUAL(code(hs), errc::malformed_message); // source id 0
  byte_buffer empty_hs;
  write_handshake_packet(1, 2, byte_buffer{}, empty_hs);
  BOOST_CHECK_EQUAL(code(empty_hs), errc::malformed_message);
  BOOST_CHECK(!peek_destination_id(byte_buffer{1, 2, 3}));
}

// -- frames ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(ack_frames_round_trip_random_sets) {
  test::sim_random rng(7);
  for (int round = 0; round < 300; ++round) {
    range_set set;
    std::set<uint64_t> values;
    auto n = 1 + rng.below(60);
    uint64_t base = rng.below(1000000);
    for (uint64_t i = 0; i < n; ++i) {
      auto v = base + rng.below(400);
      set.insert(v, v + 1);
      values.insert(v);
    }
    byte_buffer buf;
    BOOST_REQUIRE(write_ack_frame(set, 1234, 4000, buf));
    auto frames = parse_frames(buf);
    BOOST_REQUIRE(frames);
    BOOST_REQUIRE(frames->ack);
    BOOST_CHECK(!frames->ack_eliciting);
    BOOST_CHECK_EQUAL(frames->ack->delay_us, 1234u);
    std::set<uint64_t> decoded;
    uint64_t prev_low = UINT64_MAX;
    for (auto r : frames->ack->ranges) {
      BOOST_REQUIRE_LE(r.low, r.high);
      BOOST_REQUIRE_LT(r.high + 1, prev_low); // descending, with gaps
      prev_low = r.low;
      for (auto v = r.low; v <= r.high; ++v)
        decoded.insert(v);
    }
    BOOST_CHECK(decoded == values);
  }
}

BOOST_AUTO_TEST_CASE(a_small_budget_keeps_the_newest_ack_ranges) {
  range_set set;
  for (uint64_t v = 0; v < 200; v += 2)
    set.insert(v, v + 1);
  byte_buffer buf;
  BOOST_REQUIRE(write_ack_frame(set, 0, 30, buf));
  BOOST_CHECK_LE(buf.size(), 30u);
  auto frames = parse_frames(buf);
  BOOST_REQUIRE(frames && frames->ack);
  BOOST_CHECK_EQUAL(frames->ack->ranges.front().high, 198u);
  BOOST_CHECK_GT(frames->ack->ranges.size(), 3u);
  BOOST_CHECK(!write_ack_frame(set, 0, 3, buf));
  BOOST_CHECK(!write_ack_frame(range_set{}, 0, 100, buf));
}

BOOST_AUTO_TEST_CASE(all_frame_kinds_round_trip_in_one_packet) {
  byte_buffer p;
  range_set acked;
  acked.insert(5, 10);
  BOOST_REQUIRE(write_ack_frame(acked, 7, 100, p));
  write_max_data_frame(1 << 20, p);
  write_stream_frame_header(300, 3, p);
  p.insert(p.end(), {'a', 'b', 'c'});
  p.push_back(uint8_t(frame_type::ping));
  p.push_back(uint8_t(frame_type::padding));
  write_close_frame(9, "bye", p);
  auto f = parse_frames(p);
  BOOST_REQUIRE(f);
  BOOST_CHECK(f->ack_eliciting);
  BOOST_CHECK_EQUAL(f->ack->ranges.size(), 1u);
  BOOST_CHECK_EQUAL(f->ack->ranges[0].low, 5u);
  BOOST_CHECK_EQUAL(f->ack->ranges[0].high, 9u);
  BOOST_CHECK_EQUAL(*f->max_data, 1u << 20);
  BOOST_REQUIRE_EQUAL(f->streams.size(), 1u);
  BOOST_CHECK_EQUAL(f->streams[0].offset, 300u);
  BOOST_CHECK(f->streams[0].data == const_byte_span{test::bytes_of("abc")});
  BOOST_CHECK_EQUAL(f->close->code, 9);
  BOOST_CHECK_EQUAL(f->close->text, "bye");
  // Every truncation of it either fails or decodes fewer frames, never
  // reads past the end (ASan would tell).
  for (size_t n = 0; n < p.size(); ++n)
    (void)parse_frames(const_byte_span{p.data(), n});
}

BOOST_AUTO_TEST_CASE(malformed_frames_are_refused) {
  auto bad = [](byte_buffer b) {
    auto r = parse_frames(b);
    return !r && r.error().code == errc::malformed_message;
  };
  BOOST_CHECK(bad({}));
  BOOST_CHECK(bad({0x3F}));                 // unknown type
  BOOST_CHECK(bad({3, 0, 5, 'a'}));         // stream shorter than announced
  BOOST_CHECK(bad({2, 3, 0, 0, 4}));        // first range below zero
  BOOST_CHECK(bad({2, 10, 0, 1, 0, 9, 0})); // second range below zero
  BOOST_CHECK(bad({2, 1, 0, 0, 0, 2, 1, 0, 0, 0})); // two ACK frames
  BOOST_CHECK(bad({4}));                            // truncated MAX_DATA
  BOOST_CHECK(bad({5}));                            // truncated CLOSE
  BOOST_CHECK(bad({5, 1, 5, 'a'}));                 // CLOSE text truncated
  // A stream frame ending beyond the largest offset.
  byte_buffer far{3};
  write_varint(max_varint, far);
  write_varint(1, far);
  far.push_back(0);
  BOOST_CHECK(bad(far));
  // Padding alone is a valid (if useless) packet, and not ack-eliciting.
  auto pad = parse_frames(byte_buffer{0, 0, 0});
  BOOST_REQUIRE(pad);
  BOOST_CHECK(!pad->ack_eliciting);
}

// -- range_set
// -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(range_set_matches_a_model) {
  test::sim_random rng(3);
  range_set set;
  std::set<uint64_t> model;
  for (int i = 0; i < 3000; ++i) {
    auto a = rng.below(500);
    auto b = a + rng.below(20);
    if (rng.chance(0.7)) {
      set.insert(a, b);
      for (auto v = a; v < b; ++v)
        model.insert(v);
    } else {
      set.erase(a, b);
      for (auto v = a; v < b; ++v)
        model.erase(v);
    }
    if (i % 50 == 0) {
      std::set<uint64_t> flat;
      uint64_t prev_end = 0;
      bool first = true;
      for (auto& [lo, hi] : set.ranges()) {
        BOOST_REQUIRE_LT(lo, hi);
        if (!first)
          BOOST_REQUIRE_LT(prev_end, lo); // disjoint and not touching
        first = false;
        prev_end = hi;
        for (auto v = lo; v < hi; ++v)
          flat.insert(v);
      }
      BOOST_REQUIRE(flat == model);
      auto probe = rng.below(520);
      BOOST_CHECK_EQUAL(set.contains(probe), model.count(probe) == 1);
      auto gap = set.first_gap(probe);
      BOOST_CHECK_EQUAL(model.count(gap), 0u);
      for (auto v = probe; v < gap; ++v)
        BOOST_CHECK_EQUAL(model.count(v), 1u);
    }
  }
  set.keep_highest(2);
  BOOST_CHECK_LE(set.size(), 2u);
}
