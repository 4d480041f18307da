#include "crust/transport/codec/connection_info.hpp"

#include "support/engine_test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <string>
#include <vector>

using namespace crust;
using crust::test::from_hex;

namespace {

using info = public_connection_info;

const std::string id_hex
  = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

peer_id test_id() {
  return *peer_id::parse(id_hex);
}

endpoint ep(const std::string& text) {
  auto res = endpoint::parse(text);
  BOOST_REQUIRE_MESSAGE(res, text);
  return *res;
}

info make(std::vector<std::string> endpoints) {
  info out;
  out.id = test_id();
  for (auto& text : endpoints)
    out.endpoints.push_back(ep(text));
  return out;
}

/// 32 distinct endpoints of every kind, IPv6 UDP last so that the largest
/// form is easy to build.
info largest() {
  info out;
  out.id = test_id();
  for (int i = 0; i < 32; ++i)
    out.endpoints.push_back(ep("udp://[2001:db8::" + std::to_string(i + 1)
                               + "]:" + std::to_string(i + 1000)));
  return out;
}

template<class T>
std::string error_of(const expected<T>& x) {
  return x ? std::string{} : x.error().message();
}

/// Expects `result` to fail with `code` and a detail holding every one of
/// `parts`.
template<class T>
void check_failure(const expected<T>& result, errc code,
                   const std::vector<std::string>& parts) {
  BOOST_REQUIRE_MESSAGE(!result, "decoded, but expected " << to_string(code));
  BOOST_CHECK_EQUAL(result.error().code, code);
  for (auto& part : parts)
    BOOST_CHECK_MESSAGE(result.error().detail.find(part) != std::string::npos,
                        '"' << result.error().detail << "\" lacks \"" << part
                            << '"');
}

/// The text form of arbitrary `bytes`, with a correct checksum: lets the
/// suite feed the text decoder what no valid info encodes to. Written
/// independently of the codec (bit by bit).
std::string text_of(byte_buffer bytes) {
  auto crc = crc32c(bytes);
  for (int i = 0; i < 4; ++i)
    bytes.push_back(static_cast<uint8_t>(crc >> (8 * i)));
  const char* alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  std::string out{info::text_prefix};
  size_t nbits = bytes.size() * 8;
  for (size_t bit = 0; bit < nbits; bit += 5) {
    int value = 0;
    for (size_t k = bit; k < bit + 5; ++k) {
      int b = k < nbits ? (bytes[k / 8] >> (7 - k % 8)) & 1 : 0;
      value = (value << 1) | b;
    }
    out += alphabet[value];
  }
  return out;
}

/// The binary form of `x`, which must be valid.
byte_buffer bytes_of(const info& x) {
  auto res = x.to_bytes();
  BOOST_REQUIRE_MESSAGE(res, error_of(res));
  return *res;
}

std::string text_of(const info& x) {
  auto res = x.to_text();
  BOOST_REQUIRE_MESSAGE(res, error_of(res));
  return *res;
}

/// A valid header (version, kind, test id) and `count`, then `rest`.
byte_buffer raw(size_t count, const std::string& rest_hex = "") {
  auto out = from_hex("0101" + id_hex);
  out.push_back(static_cast<uint8_t>(count));
  auto rest = from_hex(rest_hex);
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(connection_info_suite)

BOOST_AUTO_TEST_CASE(limits) {
  BOOST_CHECK_EQUAL(info::header_size, 35u);
  BOOST_CHECK_EQUAL(info::max_size, 35u + 32u * 19u);
  BOOST_CHECK_EQUAL(info::max_text_size, 10u + 1036u);
  BOOST_CHECK_EQUAL(info::text_prefix, "crustinfo:");
}

BOOST_AUTO_TEST_CASE(crc32c_check_value) {
  // The catalogued check value of CRC-32C over "123456789".
  const uint8_t digits[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  BOOST_CHECK_EQUAL(crc32c(const_byte_span{digits, sizeof(digits)}),
                    0xe3069283u);
  BOOST_CHECK_EQUAL(crc32c(const_byte_span{}), 0u);
}

BOOST_AUTO_TEST_CASE(binary_layout) {
  auto x = make({"192.0.2.1:5483", "udp://[2001:db8::1]:5483"});
  auto expected_hex = "0101" + id_hex + "02" + "14" + "c0000201" + "156b" + "26"
                      + "20010db8000000000000000000000001" + "156b";
  BOOST_CHECK(bytes_of(x) == from_hex(expected_hex));
  BOOST_CHECK(
    bytes_of(make({"udp://1.2.3.4:1", "[::1]:2"}))
    == raw(2, "2401020304000116000000000000000000000000000000010002"));
}

BOOST_AUTO_TEST_CASE(round_trips) {
  std::vector<info> cases = {
    make({}),
    make({"192.0.2.1:5483"}),
    make({"[2001:db8::1]:5483"}),
    make({"192.0.2.1:5483", "[2001:db8::1]:5483", "udp://192.0.2.1:5483",
          "udp://[2001:db8::1]:5483", "10.0.0.2:1", "[::ffff:10.0.0.2]:65535",
          "127.0.0.1:9", "[::1]:9"}),
    largest(),
  };
  for (auto& x : cases) {
    BOOST_TEST_CONTEXT(x.endpoints.size() << " endpoints") {
      auto bytes = bytes_of(x);
      auto back = info::from_bytes(bytes);
      BOOST_REQUIRE_MESSAGE(back, error_of(back));
      BOOST_CHECK(*back == x);
      auto text = text_of(x);
      BOOST_CHECK_LE(text.size(), info::max_text_size);
      auto from_text = info::from_text(text);
      BOOST_REQUIRE_MESSAGE(from_text, error_of(from_text));
      BOOST_CHECK(*from_text == x);
      BOOST_CHECK_EQUAL(text_of(*from_text), text);
      BOOST_CHECK_EQUAL(text, text_of(bytes)); // the independent encoder
    }
  }
  // The largest info fills both bounds exactly.
  BOOST_CHECK_EQUAL(bytes_of(largest()).size(), info::max_size);
  BOOST_CHECK_EQUAL(text_of(largest()).size(), info::max_text_size);
}

BOOST_AUTO_TEST_CASE(text_is_one_pasteable_word) {
  auto text = text_of(make({"192.0.2.1:5483", "[2001:db8::1]:5483"}));
  BOOST_TEST_MESSAGE(text);
  BOOST_CHECK_EQUAL(text.substr(0, 10), "crustinfo:");
  for (auto c : text.substr(10))
    BOOST_CHECK((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'));
  // A newline or spaces picked up with the paste do not matter.
  for (auto wrapped : {text + "\n", "  " + text + " \r\n", "\t" + text}) {
    auto res = info::from_text(wrapped);
    BOOST_CHECK_MESSAGE(res, error_of(res));
  }
}

BOOST_AUTO_TEST_CASE(encoders_refuse_invalid_info) {
  auto x = make({"1.2.3.4:5"});
  x.id = peer_id{};
  check_failure(x.to_bytes(), errc::bad_connection_info,
                {"peer id is all zeros"});
  check_failure(x.to_text(), errc::bad_connection_info, {"all zeros"});
  auto y = make({"1.2.3.4:5", "[::1]:6", "1.2.3.4:5"});
  check_failure(y.to_bytes(), errc::bad_connection_info,
                {"endpoint 2 (1.2.3.4:5) repeats endpoint 0"});
  auto z = make({"1.2.3.4:5"});
  z.endpoints.push_back(endpoint{transport_protocol::udp, ep("[::1]:1").ip, 0});
  check_failure(z.to_bytes(), errc::bad_connection_info,
                {"endpoint 1 (udp://[::1]:0) has port 0"});
  auto u = make({"0.0.0.0:5"});
  check_failure(u.to_bytes(), errc::bad_connection_info,
                {"endpoint 0 (0.0.0.0:5) has the unspecified address"});
  auto many = largest();
  many.endpoints.push_back(ep("1.2.3.4:5"));
  check_failure(many.to_bytes(), errc::bad_connection_info,
                {"33 endpoints; at most 32"});
  // Same address and port over TCP and UDP are two endpoints.
  BOOST_CHECK(make({"1.2.3.4:5", "udp://1.2.3.4:5"}).validate());
}

BOOST_AUTO_TEST_CASE(binary_errors) {
  check_failure(info::from_bytes(byte_buffer{}), errc::bad_connection_info,
                {"empty"});
  for (uint8_t v : {0, 2, 255}) {
    auto bytes = raw(0);
    bytes[0] = v;
    check_failure(info::from_bytes(bytes), errc::unknown_version,
                  {"connection info version " + std::to_string(v)
                   + "; this build reads version 1"});
  }
  check_failure(info::from_bytes(from_hex("0101")), errc::bad_connection_info,
                {"truncated: 2 bytes, the header alone has 35"});
  auto wrong_kind = raw(0);
  wrong_kind[1] = 0x02;
  check_failure(info::from_bytes(wrong_kind), errc::bad_connection_info,
                {"kind byte (byte offset 1) is 0x02; expected 0x01"});
  auto zero_id = from_hex("0101" + std::string(64, '0') + "00");
  check_failure(info::from_bytes(zero_id), errc::bad_connection_info,
                {"all zeros"});
  check_failure(info::from_bytes(raw(33)), errc::bad_connection_info,
                {"declares 33 endpoints (byte offset 34); at most 32"});
  check_failure(info::from_bytes(raw(255)), errc::bad_connection_info,
                {"declares 255 endpoints"});
  check_failure(info::from_bytes(raw(32)), errc::bad_connection_info,
                {"truncated: declares 32 endpoints, which need at least 224 "
                 "bytes; 0 follow the header"});
  check_failure(info::from_bytes(raw(1, "16000000000000")),
                errc::bad_connection_info,
                {"truncated: endpoint 0 at byte offset 35 needs 19 bytes; 7 "
                 "remain"});
  check_failure(info::from_bytes(raw(2, "14010203040005160000000000000000")),
                errc::bad_connection_info,
                {"truncated: endpoint 1 at byte offset 42 needs 19 bytes; 9 "
                 "remain"});
  check_failure(info::from_bytes(raw(1, "15010203040005")),
                errc::bad_connection_info,
                {"endpoint 0 at byte offset 35 has the unknown tag 0x15"});
  check_failure(info::from_bytes(raw(2, "140102030400053401020304000500")),
                errc::bad_connection_info,
                {"endpoint 1 at byte offset 42 has the unknown tag 0x34"});
  check_failure(info::from_bytes(raw(1, "1401020304000500")),
                errc::bad_connection_info,
                {"1 unexpected bytes after the last endpoint, at byte offset "
                 "42"});
  check_failure(info::from_bytes(raw(1, "14010203040000")),
                errc::bad_connection_info,
                {"endpoint 0 (1.2.3.4:0) has port 0"});
  check_failure(info::from_bytes(raw(1, "14000000000050")),
                errc::bad_connection_info,
                {"endpoint 0 (0.0.0.0:80) has the unspecified address"});
  check_failure(info::from_bytes(raw(3, "14010203040005"
                                        "24010203040005"
                                        "14010203040005")),
                errc::bad_connection_info,
                {"endpoint 2 (1.2.3.4:5) repeats endpoint 0"});
}

BOOST_AUTO_TEST_CASE(every_truncation_and_extension_of_the_bytes_fails) {
  auto bytes = bytes_of(make({"1.2.3.4:5", "udp://[2001:db8::1]:6"}));
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto res = info::from_bytes(const_byte_span{bytes.data(), n});
    BOOST_CHECK_MESSAGE(!res, "prefix of " << n << " bytes decoded");
  }
  auto longer = bytes;
  longer.push_back(0);
  BOOST_CHECK(!info::from_bytes(longer));
}

BOOST_AUTO_TEST_CASE(text_errors) {
  auto good = text_of(make({"1.2.3.4:5", "[2001:db8::1]:6"}));
  auto cut = good.size() - 8; // still whole bytes
  struct {
    std::string text;
    errc code;
    std::vector<std::string> parts;
  } cases[] = {
    {"", errc::bad_connection_info, {"empty text; expected crustinfo:"}},
    {" \n", errc::bad_connection_info, {"empty text"}},
    {"crustinf:aaaa",
     errc::bad_connection_info,
     {"expected the prefix 'crustinfo:' at position 0"}},
    {"  CRUSTINFO:aaaa",
     errc::bad_connection_info,
     {"expected the prefix 'crustinfo:' at position 2"}},
    {id_hex + "@1.2.3.4:5",
     errc::bad_connection_info,
     {"expected the prefix", "looks like a contact"}},
    {"crustinfo:", errc::bad_connection_info, {"truncated: 0 characters"}},
    {"crustinfo:aaaaaaa",
     errc::bad_connection_info,
     {"truncated: 7 characters after the prefix"}},
    {good.substr(0, 12) + "A" + good.substr(13),
     errc::bad_connection_info,
     {"invalid character 'A' at position 12", "lower case"}},
    {good.substr(0, 20) + "1" + good.substr(21),
     errc::bad_connection_info,
     {"invalid character '1' at position 20 (expected a to z or 2 to 7)"}},
    {good.substr(0, 30) + "=" + good.substr(31),
     errc::bad_connection_info,
     {"invalid character '=' at position 30"}},
    {good.substr(0, 40) + " " + good.substr(40),
     errc::bad_connection_info,
     {"invalid character ' ' at position 40"}},
    {good + "=", errc::bad_connection_info, {"invalid character '='"}},
    {good.substr(0, cut),
     errc::bad_connection_info,
     {"truncated: the text holds at most", "was the paste cut short?"}},
    {good.substr(0, 26),
     errc::bad_connection_info,
     {"truncated: the text holds at most 6 bytes of connection info, which "
      "needs at least 35"}},
    {"crustinfo:" + std::string(info::max_text_size, 'a'),
     errc::bad_connection_info,
     {"too long: 1056 characters; at most 1046"}},
  };
  for (auto& c : cases) {
    BOOST_TEST_CONTEXT('"' << c.text << '"') {
      check_failure(info::from_text(c.text), c.code, c.parts);
    }
  }
}

BOOST_AUTO_TEST_CASE(text_checksum_and_padding) {
  auto good = text_of(make({"1.2.3.4:5"}));
  // Swapping two different neighbours changes the bytes; the checksum sees
  // it.
  auto swapped = good;
  size_t i = 15;
  while (swapped[i] == swapped[i + 1])
    ++i;
  std::swap(swapped[i], swapped[i + 1]);
  check_failure(info::from_text(swapped), errc::bad_connection_info,
                {"checksum mismatch: the text was mistyped, altered or cut "
                 "short"});
  // 35 + 7 + 4 = 46 bytes = 368 bits: the last character carries 3 bits of
  // data and 2 unused ones, which must be zero.
  BOOST_REQUIRE_EQUAL((good.size() - 10) % 8, 2u);
  auto padded = good;
  auto last = padded.back();
  padded.back() = last == 'b' ? 'c' : 'b';
  check_failure(info::from_text(padded), errc::bad_connection_info,
                {"invalid last character '" + std::string(1, padded.back())
                 + "' at position " + std::to_string(padded.size() - 1)
                 + ": its unused low bits must be zero"});
}

BOOST_AUTO_TEST_CASE(text_carries_the_binary_errors) {
  auto v2 = raw(0);
  v2[0] = 2;
  check_failure(info::from_text(text_of(v2)), errc::unknown_version,
                {"connection info version 2; this build reads version 1"});
  check_failure(info::from_text(text_of(raw(40))), errc::bad_connection_info,
                {"declares 40 endpoints (byte offset 34); at most 32"});
  check_failure(
    info::from_text(text_of(raw(2, "1401020304000514010203040005"))),
    errc::bad_connection_info, {"endpoint 1 (1.2.3.4:5) repeats endpoint 0"});
  check_failure(
    info::from_text(text_of(raw(1, "26" + std::string(30, '0') + "010000"))),
    errc::bad_connection_info, {"endpoint 0 (udp://[::1]:0) has port 0"});
  check_failure(info::from_text(text_of(raw(1, "14010203040005ff"))),
                errc::bad_connection_info,
                {"1 unexpected bytes after the last endpoint"});
}

BOOST_AUTO_TEST_CASE(corruption_sweep) {
  // Every change of one character to any other printable character, and
  // every swap of two neighbours, is refused or (impossible with the
  // checksum) decodes to something else.
  auto x = make({"192.0.2.1:5483", "udp://[2001:db8::1]:5483", "[::1]:9"});
  auto text = text_of(x);
  size_t refused = 0;
  size_t different = 0;
  size_t total = 0;
  auto judge = [&](const std::string& changed) {
    ++total;
    auto res = info::from_text(changed);
    if (!res) {
      ++refused;
      BOOST_CHECK(!res.error().detail.empty());
    } else if (*res != x) {
      ++different;
    } else {
      BOOST_ERROR("change undetected: " << changed);
    }
  };
  for (size_t i = 0; i < text.size(); ++i) {
    for (char c = 0x20; c < 0x7f; ++c) {
      if (c == text[i])
        continue;
      auto changed = text;
      changed[i] = c;
      // Whitespace at either end is trimmed: that is a deletion.
      judge(changed);
    }
    if (i + 1 < text.size() && text[i] != text[i + 1]) {
      auto swapped = text;
      std::swap(swapped[i], swapped[i + 1]);
      judge(swapped);
    }
    // Deleting a character.
    judge(text.substr(0, i) + text.substr(i + 1));
  }
  BOOST_TEST_MESSAGE(total << " changes, " << refused << " refused, "
                           << different << " decoded to something else");
  BOOST_CHECK_EQUAL(refused, total);
}

BOOST_AUTO_TEST_SUITE_END()
