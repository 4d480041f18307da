#include "crust/messages/errc.hpp"
#include "crust/messages/expected.hpp"
#include "crust/messages/type_ids.hpp"

#include "support/deterministic_fixture.hpp"

#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/result.hpp>

#include <boost/test/unit_test.hpp>
#include <set>
#include <string>

using crust::errc;

namespace {

/// Every enumerator, in declaration order (the enum is dense; keep the
/// last one here when adding codes).
std::vector<errc> all_codes() {
  std::vector<errc> out;
  for (int i = 0; i <= static_cast<int>(errc::file_io); ++i)
    out.push_back(static_cast<errc>(i));
  return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(errc_suite)

BOOST_AUTO_TEST_CASE(every_code_has_a_distinct_message) {
  std::set<std::string> seen;
  for (auto code : all_codes()) {
    std::string text{to_string(code)};
    BOOST_TEST_CONTEXT("code " << static_cast<int>(code)) {
      BOOST_CHECK(!text.empty());
      BOOST_CHECK_NE(text, "unknown error");
      BOOST_CHECK(seen.insert(text).second);
    }
  }
  BOOST_CHECK_EQUAL(seen.size(), all_codes().size());
  BOOST_CHECK_EQUAL(to_string(static_cast<errc>(250)), "unknown error");
}

BOOST_AUTO_TEST_CASE(failure_message_adds_the_detail) {
  crust::failure f{errc::key_file_malformed, "/x/key"};
  BOOST_CHECK_EQUAL(f.message(), "key file is malformed: /x/key");
  crust::failure g{errc::key_file_malformed, ""};
  BOOST_CHECK_EQUAL(g.message(), "key file is malformed");
}

BOOST_AUTO_TEST_CASE(caf_error_carries_code_and_category) {
  caf::error err{errc::peer_refused};
  BOOST_CHECK_EQUAL(err.code(), static_cast<uint8_t>(errc::peer_refused));
  BOOST_CHECK(err.category() == crust::error_category);
  BOOST_CHECK(err.context().empty());
  auto with_detail = crust::to_error({errc::invalid_config, "crust.x: bad"});
  BOOST_CHECK(with_detail.category() == caf::atom("crust"));
  BOOST_CHECK(!crust::to_error({errc::none, ""}));
}

BOOST_FIXTURE_TEST_CASE(caf_renders_crust_errors_readably,
                        crust::test::deterministic_fixture) {
  for (auto code : all_codes()) {
    if (code == errc::none)
      continue;
    BOOST_CHECK_EQUAL(sys.render(caf::error{code}), to_string(code));
  }
  auto err = crust::to_error(
    {errc::key_file_permissions, "/x/key has mode 0644; run chmod 600 /x/key"});
  BOOST_CHECK_EQUAL(sys.render(err),
                    "key file is readable by group or others: /x/key has "
                    "mode 0644; run chmod 600 /x/key");
}

BOOST_FIXTURE_TEST_CASE(handlers_may_return_crust_errors,
                        crust::test::deterministic_fixture) {
  // Refuses pings with `code` (spawn functions take an argument: see the
  // fixture's sanitizer note).
  auto refuser = sys.spawn(
    [](errc code) -> caf::behavior {
      return {
        [code](crust::atom::ping) -> caf::result<crust::atom::pong> {
          return code;
        },
      };
    },
    errc::peer_refused);
  auto err = request_error(refuser, crust::atom::ping_v);
  BOOST_REQUIRE(err);
  BOOST_CHECK(err == caf::error{errc::peer_refused});
  BOOST_CHECK_EQUAL(sys.render(err), "the peer refused the connection");
  caf::anon_send_exit(refuser, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_SUITE_END()
