// libFuzzer target: the rUDP packet decoder (transport/rudp/packet_format):
// the cleartext header and the frames of a data packet's plaintext.
//
// The whole input is tried as a datagram (parse_header, peek_destination_id)
// and as a plaintext (parse_frames). Invariants (a broken one traps):
//   - a parsed header's body and header bytes lie inside the datagram and
//     together make it up; peek agrees with the parsed destination id;
//   - decoded STREAM data lies inside the input; ACK ranges are ordered,
//     descending, separated by at least one number and at most 256;
//   - what decodes re-encodes: an ACK's ranges written back and decoded
//     again give the same numbers, a STREAM header the same offset and
//     length, MAX_DATA the same limit, CLOSE the same code and text;
//   - varints re-encode to the same value.
//
// To regenerate the seed corpus:
//   CRUST_FUZZ_WRITE_SEEDS=tests/fuzz/corpus/rudp_packet \
//     ./build/fuzz/tests/fuzz/rudp_packet_fuzz -runs=0

#include "crust/transport/rudp/packet_format.hpp"
#include "crust/transport/rudp/range_set.hpp"

#include "fuzz_support.hpp"

#include <cstdint>
#include <string>

using namespace crust;
using namespace crust::rudp;
using namespace crust::fuzz;

namespace {

bool inside(const_byte_span part, const_byte_span whole) {
  return part.size() == 0
         || (part.data() >= whole.data()
             && part.data() + part.size() <= whole.data() + whole.size());
}

void check_header(const_byte_span in) {
  auto hdr = parse_header(in);
  auto peek = peek_destination_id(in);
  if (!hdr)
    return;
  require(inside(hdr->body, in) && inside(hdr->header_bytes, in));
  require(hdr->header_bytes.size() + hdr->body.size() == in.size());
  require(peek.has_value() && *peek == hdr->destination_id);
  if (hdr->type == packet_type::data)
    require(hdr->destination_id != no_connection_id
            && in.size() >= data_packet_overhead);
  else
    require(hdr->source_id != no_connection_id && !hdr->body.empty());
}

void check_frames(const_byte_span in) {
  auto frames = parse_frames(in);
  if (!frames)
    return;
  for (const auto& s : frames->streams) {
    require(inside(s.data, in));
    require(s.offset + s.data.size() <= max_varint);
    byte_buffer hdr;
    write_stream_frame_header(s.offset, s.data.size(), hdr);
    hdr.insert(hdr.end(), s.data.begin(), s.data.end());
    auto again = parse_frames(hdr);
    require(again && again->streams.size() == 1
            && again->streams[0].offset == s.offset
            && again->streams[0].data == s.data);
  }
  if (frames->ack) {
    const auto& ranges = frames->ack->ranges;
    require(!ranges.empty() && ranges.size() <= max_ack_ranges);
    range_set set;
    for (size_t i = 0; i < ranges.size(); ++i) {
      require(ranges[i].low <= ranges[i].high);
      if (i > 0)
        require(ranges[i].high + 1 < ranges[i - 1].low);
      set.insert(ranges[i].low, ranges[i].high + 1);
    }
    byte_buffer buf;
    require(write_ack_frame(set, frames->ack->delay_us, 1 << 16, buf));
    auto again = parse_frames(buf);
    require(again && again->ack && again->ack->ranges.size() == ranges.size());
    for (size_t i = 0; i < ranges.size(); ++i)
      require(again->ack->ranges[i].low == ranges[i].low
              && again->ack->ranges[i].high == ranges[i].high);
  }
  if (frames->max_data) {
    byte_buffer buf;
    write_max_data_frame(*frames->max_data, buf);
    auto again = parse_frames(buf);
    require(again && again->max_data == frames->max_data);
  }
  if (frames->close) {
    require(frames->close->text.size() <= max_close_text);
    byte_buffer buf;
    write_close_frame(frames->close->code, frames->close->text, buf);
    auto again = parse_frames(buf);
    require(again && again->close && again->close->code == frames->close->code
            && again->close->text == frames->close->text);
  }
}

void check_varints(const_byte_span in) {
  size_t pos = 0;
  while (auto x = read_varint(in, pos)) {
    byte_buffer buf;
    write_varint(*x, buf);
    size_t p = 0;
    require(read_varint(buf, p) == x && p == buf.size());
  }
}

void write_all_seeds(const std::string& dir) {
  byte_buffer hs;
  write_handshake_packet(0, 0x1234, byte_buffer{1, 1, 0, 2, 0, 0}, hs);
  write_file(dir, "handshake", hs);
  byte_buffer data;
  write_data_header(0x77, data);
  data.resize(data_packet_overhead + 4, 0);
  write_file(dir, "data", data);
  byte_buffer frames;
  range_set set;
  set.insert(1, 5);
  set.insert(8, 9);
  set.insert(20, 30);
  write_ack_frame(set, 250, 200, frames);
  write_max_data_frame(1 << 22, frames);
  write_stream_frame_header(70000, 4, frames);
  frames.insert(frames.end(), {1, 0, 0, 0});
  frames.push_back(uint8_t(frame_type::ping));
  write_close_frame(3, "bye", frames);
  frames.push_back(uint8_t(frame_type::padding));
  write_file(dir, "frames", frames);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  return write_seeds_if_asked(write_all_seeds);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const_byte_span in{data, size};
  check_header(in);
  check_frames(in);
  check_varints(in);
  return 0;
}
