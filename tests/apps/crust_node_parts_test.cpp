// crust-node's pure parts: the command parser, the JSON writer, file
// messages and the event printer. The process as a whole is tested by
// crust_node_test.py.

#include "crust/messages/expected.hpp"
#include "crust/messages/type_ids.hpp"

#include "command.hpp"
#include "error_text.hpp"
#include "event_format.hpp"
#include "file_message.hpp"
#include "json_writer.hpp"

#include <caf/sec.hpp>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>
#include <vector>

using namespace crust_node;
using namespace std::chrono_literals;

namespace {

command parse_ok(std::string_view line) {
  auto parsed = parse_line(line);
  BOOST_REQUIRE_MESSAGE(parsed.cmd, "'" << line << "' fails: " << parsed.error);
  return *parsed.cmd;
}

std::string parse_error(std::string_view line) {
  auto parsed = parse_line(line);
  BOOST_REQUIRE_MESSAGE(!parsed.cmd && !parsed.empty,
                        "'" << line << "' parses");
  return parsed.error;
}

crust::peer_id some_peer(uint8_t first) {
  crust::peer_id::bytes_type bytes{};
  bytes[0] = first;
  bytes[31] = 1;
  return crust::peer_id{bytes};
}

std::string render(const caf::error& err) {
  return "rendered(" + std::to_string(err.code()) + ")";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_SUITE(commands)

BOOST_AUTO_TEST_CASE(verbs_without_arguments) {
  BOOST_CHECK(parse_ok("listen").kind == command_kind::listen);
  BOOST_CHECK(parse_ok("  peers \r").kind == command_kind::peers);
  BOOST_CHECK(parse_ok("stop-listen").kind == command_kind::stop_listen);
  BOOST_CHECK(parse_ok("exit").kind == command_kind::quit);
  BOOST_CHECK(parse_ok("quit").kind == command_kind::quit);
  BOOST_CHECK(contains(parse_error("peers all"), "unexpected argument"));
}

BOOST_AUTO_TEST_CASE(blank_lines_and_comments_are_empty) {
  BOOST_CHECK(parse_line("").empty);
  BOOST_CHECK(parse_line("   \t").empty);
  BOOST_CHECK(parse_line("# a comment").empty);
}

BOOST_AUTO_TEST_CASE(unknown_verb_is_named) {
  auto err = parse_error("frobnicate now");
  BOOST_CHECK(contains(err, "unknown command 'frobnicate'"));
  BOOST_CHECK(contains(err, "help"));
}

BOOST_AUTO_TEST_CASE(send_keeps_the_text_verbatim) {
  auto cmd = parse_ok("send ab12  hello   world ");
  BOOST_CHECK(cmd.kind == command_kind::send);
  BOOST_CHECK_EQUAL(cmd.target, "ab12");
  BOOST_CHECK_EQUAL(cmd.argument, "hello   world");
  BOOST_CHECK_EQUAL(cmd.priority, default_priority);
}

BOOST_AUTO_TEST_CASE(send_priority) {
  BOOST_CHECK_EQUAL(parse_ok("send -p 0 ab x").priority, 0);
  BOOST_CHECK_EQUAL(parse_ok("send --priority=255 ab x").priority, 255);
  BOOST_CHECK_EQUAL(parse_ok("send-file -p 7 ab /tmp/f").priority, 7);
  BOOST_CHECK(contains(parse_error("send -p 256 ab x"), "0 to 255"));
  BOOST_CHECK(contains(parse_error("send -p x ab x"), "0 to 255"));
  BOOST_CHECK(contains(parse_error("send -p"), "0 to 255"));
}

BOOST_AUTO_TEST_CASE(send_needs_a_peer_and_text) {
  BOOST_CHECK(contains(parse_error("send"), "missing PEER"));
  BOOST_CHECK(contains(parse_error("send ab"), "missing TEXT"));
  BOOST_CHECK(contains(parse_error("send-file ab"), "missing PATH"));
  auto err = parse_error("send bob hi");
  BOOST_CHECK(contains(err, "'bob'"));
  BOOST_CHECK(contains(err, "usage: send [-p N] PEER TEXT"));
  BOOST_CHECK(
    contains(parse_error("send " + std::string(65, 'a') + " x"), "PEER"));
}

BOOST_AUTO_TEST_CASE(connect_takes_one_argument) {
  auto cmd = parse_ok("connect abc@[::1]:5000");
  BOOST_CHECK(cmd.kind == command_kind::connect);
  BOOST_CHECK_EQUAL(cmd.argument, "abc@[::1]:5000");
  BOOST_CHECK(contains(parse_error("connect"), "missing argument"));
  BOOST_CHECK(contains(parse_error("connect a b"), "unexpected argument"));
  BOOST_CHECK(parse_ok("connect-info crustinfo:xyz").kind
              == command_kind::connect_info);
}

BOOST_AUTO_TEST_CASE(ban_targets_and_durations) {
  auto by_ip = parse_ok("ban 127.0.0.1 30s");
  BOOST_CHECK(by_ip.kind == command_kind::ban);
  BOOST_CHECK_EQUAL(by_ip.target, "127.0.0.1");
  BOOST_REQUIRE(by_ip.duration);
  BOOST_CHECK(*by_ip.duration == caf::timespan{30s});
  auto by_peer = parse_ok("ban deadbeef");
  BOOST_CHECK(!by_peer.duration);
  BOOST_CHECK(parse_ok("ban ::1").target == "::1");
  BOOST_CHECK(contains(parse_error("ban host.example"), "neither"));
  BOOST_CHECK(contains(parse_error("ban ::1 soon"), "DURATION"));
  BOOST_CHECK(contains(parse_error("unban ::1 10s"), "unexpected argument"));
  BOOST_CHECK(contains(parse_error("disconnect"), "missing PEER"));
}

BOOST_AUTO_TEST_CASE(durations) {
  BOOST_CHECK(parse_duration("500ms") == caf::timespan{500ms});
  BOOST_CHECK(parse_duration("30s") == caf::timespan{30s});
  BOOST_CHECK(parse_duration("10min") == caf::timespan{10min});
  BOOST_CHECK(parse_duration("2h") == caf::timespan{2h});
  BOOST_CHECK(parse_duration("1d") == caf::timespan{24h});
  for (auto bad : {"", "0s", "s", "10m", "-1s", "1.5s", "99999999999999d"})
    BOOST_CHECK_MESSAGE(!parse_duration(bad), bad);
}

BOOST_AUTO_TEST_CASE(every_verb_has_a_usage_line) {
  BOOST_CHECK_EQUAL(command_usage().size(),
                    static_cast<size_t>(command_kind::quit) + 1);
  BOOST_CHECK_EQUAL(to_string(command_kind::send_file), "send-file");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(json)

BOOST_AUTO_TEST_CASE(strings_are_escaped) {
  BOOST_CHECK_EQUAL(json_string("a\"b\\c\n\t"), "\"a\\\"b\\\\c\\n\\t\"");
  BOOST_CHECK_EQUAL(json_string(std::string{"\x01", 1}), "\"\\u0001\"");
  BOOST_CHECK_EQUAL(json_string("\xC3\xA9"), "\"\xC3\xA9\"");
  // Invalid UTF-8 (a lone continuation byte, an overlong form, a
  // surrogate) becomes U+FFFD.
  BOOST_CHECK_EQUAL(json_string("a\x80z"), "\"a\xEF\xBF\xBDz\"");
  BOOST_CHECK_EQUAL(json_string("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
  BOOST_CHECK(!is_valid_utf8("\xED\xA0\x80"));
  BOOST_CHECK(is_valid_utf8("\xF0\x9F\x98\x80"));
}

BOOST_AUTO_TEST_CASE(objects_and_arrays) {
  auto text = json_object{}
                .add("s", "x")
                .add_number("n", 7)
                .add_bool("b", false)
                .add_raw("a", json_array{}.add("p").add_raw("1").str())
                .str();
  BOOST_CHECK_EQUAL(text, R"({"s":"x","n":7,"b":false,"a":["p",1]})");
  BOOST_CHECK_EQUAL(json_object{}.str(), "{}");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(files)

BOOST_AUTO_TEST_CASE(file_messages_round_trip) {
  std::vector<uint8_t> content{1, 2, 3, 0, 255};
  auto payload = encode_file_message("report.txt", content);
  BOOST_CHECK_EQUAL(payload.size(), file_overhead("report.txt") + 5);
  auto file = decode_file_message(payload);
  BOOST_REQUIRE(file);
  BOOST_CHECK_EQUAL(file->name, "report.txt");
  BOOST_CHECK(std::vector<uint8_t>(file->content.begin(), file->content.end())
              == content);
}

BOOST_AUTO_TEST_CASE(other_payloads_are_not_files) {
  std::vector<uint8_t> text{'h', 'i'};
  BOOST_CHECK(!decode_file_message(text));
  auto payload = encode_file_message("name", {});
  payload.resize(payload.size() - 1); // the name is cut short
  BOOST_CHECK(!decode_file_message(payload));
  BOOST_CHECK(!decode_file_message({}));
}

BOOST_AUTO_TEST_CASE(received_names_are_made_safe) {
  BOOST_CHECK_EQUAL(safe_file_name("../../etc/passwd"), "passwd");
  BOOST_CHECK_EQUAL(safe_file_name("dir\\evil.txt"), "evil.txt");
  BOOST_CHECK_EQUAL(safe_file_name(".bashrc"), "_bashrc");
  BOOST_CHECK_EQUAL(safe_file_name("a b$c\n.txt"), "a_b_c_.txt");
  BOOST_CHECK_EQUAL(safe_file_name(""), "file");
  BOOST_CHECK_EQUAL(safe_file_name("dir/"), "file");
  BOOST_CHECK_EQUAL(safe_file_name(std::string(300, 'x')).size(), 100u);
  BOOST_CHECK_EQUAL(base_name("/tmp/x/a.txt"), "a.txt");
  BOOST_CHECK_EQUAL(base_name("a.txt"), "a.txt");
}

BOOST_AUTO_TEST_CASE(hash_and_printable_text) {
  std::vector<uint8_t> abc{'a', 'b', 'c'};
  BOOST_CHECK_EQUAL(sha256_hex(abc), "ba7816bf8f01cfea414140de5dae2223b00361a3"
                                     "96177a9cb410ff61f20015ad");
  BOOST_CHECK(is_printable_text(abc));
  std::vector<uint8_t> tab{'a', '\t', 'b'};
  BOOST_CHECK(is_printable_text(tab));
  std::vector<uint8_t> newline{'a', '\n'};
  BOOST_CHECK(!is_printable_text(newline));
  std::vector<uint8_t> binary{0xff, 0x00};
  BOOST_CHECK(!is_printable_text(binary));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(printing)

BOOST_AUTO_TEST_CASE(every_errc_has_a_name) {
  for (int i = 0; i <= static_cast<int>(crust::errc::socket_failure); ++i)
    BOOST_CHECK_NE(errc_name(static_cast<crust::errc>(i)), "unknown");
  BOOST_CHECK_EQUAL(errc_name(crust::errc::peer_silent), "peer_silent");
}

BOOST_AUTO_TEST_CASE(errors_carry_code_category_and_message) {
  auto err
    = crust::to_error(crust::failure{crust::errc::network_mismatch, "x"});
  auto text = describe(err, render);
  BOOST_CHECK_EQUAL(text.code, "network_mismatch");
  BOOST_CHECK_EQUAL(text.category, "crust");
  BOOST_CHECK_EQUAL(text.message, render(err));
  auto timeout = describe(caf::make_error(caf::sec::request_timeout), render);
  BOOST_CHECK_EQUAL(timeout.code, "request_timeout");
  BOOST_CHECK_EQUAL(timeout.category, "system");
}

BOOST_AUTO_TEST_CASE(banner_lines_for_people) {
  event_format human{output_mode::human, render};
  auto peer = some_peer(0xab);
  BOOST_CHECK_EQUAL(human.identity(peer, "/k"), "peer-id " + peer.to_hex());
  crust::listener_started started{5000, {"127.0.0.1:5000"}};
  BOOST_CHECK_EQUAL(human.event(started), "listening tcp 5000");
}

BOOST_AUTO_TEST_CASE(json_events) {
  event_format json{output_mode::json, render};
  auto peer = some_peer(0xab);
  BOOST_CHECK_EQUAL(json.identity(peer, "/k"), R"({"event":"identity","peer":")"
                                                 + peer.to_hex()
                                                 + R"(","key_file":"/k"})");
  crust::listener_started started{5000, {"127.0.0.1:5000", "[::1]:5000"}};
  BOOST_CHECK_EQUAL(
    json.event(started),
    R"({"event":"listener_started","transport":"tcp","port":5000,)"
    R"("endpoints":["127.0.0.1:5000","[::1]:5000"]})");
  crust::lost_peer lost{
    peer, crust::to_error(crust::failure{crust::errc::peer_silent, ""})};
  auto line = json.event(lost);
  BOOST_CHECK(contains(line, R"("event":"lost_peer")"));
  BOOST_CHECK(contains(line, R"("peer":")" + peer.to_hex() + "\""));
  BOOST_CHECK(contains(line, R"("error":{"code":"peer_silent",)"
                             R"("category":"crust","message":"rendered()"));
}

BOOST_AUTO_TEST_CASE(messages_as_text_or_binary) {
  event_format json{output_mode::json, render};
  event_format human{output_mode::human, render};
  auto peer = some_peer(0x01);
  crust::new_message text{peer, {'h', 'i', ' ', '"'}, 2};
  BOOST_CHECK(contains(json.message(text), R"("kind":"text","text":"hi \""})"));
  BOOST_CHECK_EQUAL(human.message(text),
                    "message " + peer.short_hex() + " prio 2: hi \"");
  crust::new_message bin{peer, {0x00, 0xff, '\n'}, 1};
  auto line = json.message(bin);
  BOOST_CHECK(contains(line, R"("kind":"binary","hex":"00ff0a")"));
  BOOST_CHECK(contains(line, R"("size":3)"));
  BOOST_CHECK(contains(human.message(bin), "3 bytes (binary)"));
}

BOOST_AUTO_TEST_CASE(command_results) {
  event_format json{output_mode::json, render};
  auto err = json.command_failed(command_kind::send, "send x",
                                 command_error("send: oops"));
  BOOST_CHECK_EQUAL(err, R"({"event":"error","command":"send","input":)"
                         R"("send x","error":{"code":"bad_command",)"
                         R"("category":"crust-node","message":"send: oops"}})");
  auto unknown = json.command_failed(std::nullopt, "zap", command_error("?"));
  BOOST_CHECK(contains(unknown, R"("command":"")"));
  crust::peer_summary summary{some_peer(2), "127.0.0.1:1", "tcp", true};
  BOOST_CHECK(contains(json.peers({summary}),
                       R"("peers":[{"peer":")" + summary.peer.to_hex()
                         + R"(","remote":"127.0.0.1:1","transport":"tcp",)"
                           R"("initiated":true}])"));
  crust::ban_set newly{{some_peer(3)}, {"10.0.0.1"}};
  auto banned = json.banned(newly, caf::timespan{2s});
  BOOST_CHECK(
    contains(banned, R"("addresses":["10.0.0.1"],"duration_ms":2000)"));
  event_format human{output_mode::human, render};
  BOOST_CHECK(contains(human.banned(newly, caf::timespan{10min}), "for 10min"));
  BOOST_CHECK(contains(human.banned(newly, caf::timespan{1500ms}), "for 1.5s"));
  BOOST_CHECK(contains(human.banned(newly, std::nullopt), "for the session"));
}

BOOST_AUTO_TEST_SUITE_END()
