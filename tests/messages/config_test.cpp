#include "crust/messages/config.hpp"
#include "crust/messages/errc.hpp"
#include "crust/messages/log.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>

#include <boost/test/unit_test.hpp>
#include <sstream>
#include <string>
#include <vector>

using crust::errc;
using crust::node_config;

namespace {

/// Parses `args` as the command line of a `crust::system_config` (and an
/// empty config file), then reads the crust group.
crust::expected<node_config> parse(std::vector<std::string> args) {
  crust::system_config cfg;
  std::istringstream no_file;
  auto err = cfg.parse(std::move(args), no_file);
  BOOST_REQUIRE_MESSAGE(!err, "CAF refused the command line: "
                                << caf::actor_system_config::render(err));
  return crust::read_node_config(cfg);
}

/// Expects `args` to be refused with invalid_config naming `option` and
/// mentioning `text`.
void check_refused(std::vector<std::string> args, const std::string& option,
                   const std::string& text) {
  BOOST_TEST_CONTEXT(args.front()) {
    auto x = parse(args);
    BOOST_REQUIRE(!x);
    BOOST_CHECK(x.error() == errc::invalid_config);
    BOOST_CHECK_MESSAGE(x.error().detail.find(option) == 0,
                        "detail names the option: " << x.error().detail);
    BOOST_CHECK_MESSAGE(x.error().detail.find(text) != std::string::npos,
                        "detail mentions '" << text
                                            << "': " << x.error().detail);
  }
}

} // namespace

BOOST_AUTO_TEST_SUITE(config_suite)

// A crust::system_config keeps CAF's work-stealing scheduler but skips its
// sleeping poll phase; the command line can restore it.
BOOST_AUTO_TEST_CASE(idle_workers_do_not_sleep_poll_unless_asked_to) {
  using stealing = caf::scheduler::coordinator<caf::policy::work_stealing>;
  const auto* key = "work-stealing.moderate-poll-attempts";
  {
    crust::system_config cfg;
    std::istringstream no_file;
    BOOST_REQUIRE(!cfg.parse({}, no_file));
    BOOST_CHECK_EQUAL(caf::get_or(cfg, key, size_t{500}), 0u);
    cfg.set("scheduler.max-threads", 1);
    caf::actor_system sys{cfg};
    BOOST_CHECK(dynamic_cast<stealing*>(&sys.scheduler()) != nullptr);
  }
  {
    crust::system_config cfg;
    std::istringstream no_file;
    BOOST_REQUIRE(
      !cfg.parse({"--work-stealing.moderate-poll-attempts=500"}, no_file));
    BOOST_CHECK_EQUAL(caf::get_or(cfg, key, size_t{0}), 500u);
  }
}

BOOST_AUTO_TEST_CASE(defaults) {
  node_config def;
  BOOST_CHECK_EQUAL(def.network_name, "crust-default");
  BOOST_CHECK_EQUAL(def.log_level, "info");
  BOOST_CHECK(def.key_file.empty());
  BOOST_CHECK_EQUAL(def.tcp_port, 0);
  BOOST_CHECK_EQUAL(def.max_message_size, 2u * 1024 * 1024);
  BOOST_CHECK(crust::validate(def));
  auto x = parse({});
  BOOST_REQUIRE(x);
  BOOST_CHECK_EQUAL(x->network_name, def.network_name);
  BOOST_CHECK_EQUAL(x->log_level, def.log_level);
  BOOST_CHECK_EQUAL(x->key_file, def.key_file);
  BOOST_CHECK_EQUAL(x->tcp_port, def.tcp_port);
  BOOST_CHECK_EQUAL(x->max_message_size, def.max_message_size);
}

BOOST_AUTO_TEST_CASE(every_option_is_read) {
  auto x = parse({"--crust.log-level=debug", "--crust.network-name=lab",
                  "--crust.key-file=/tmp/k", "--crust.tcp-port=5483",
                  "--crust.max-message-size=1024"});
  BOOST_REQUIRE(x);
  BOOST_CHECK_EQUAL(x->log_level, "debug");
  BOOST_CHECK_EQUAL(x->network_name, "lab");
  BOOST_CHECK_EQUAL(x->key_file, "/tmp/k");
  BOOST_CHECK_EQUAL(x->tcp_port, 5483);
  BOOST_CHECK_EQUAL(x->max_message_size, 1024u);
}

BOOST_AUTO_TEST_CASE(cipher_is_chacha_poly_unless_aes_gcm_is_asked_for) {
  BOOST_CHECK_EQUAL(node_config{}.cipher, "chacha-poly");
  auto def = parse({});
  BOOST_REQUIRE(def);
  BOOST_CHECK_EQUAL(def->cipher, "chacha-poly");
  auto aes = parse({"--crust.cipher=aes-gcm"});
  BOOST_REQUIRE(aes);
  BOOST_CHECK_EQUAL(aes->cipher, "aes-gcm");
  check_refused({"--crust.cipher=AESGCM"}, "crust.cipher",
                "unknown cipher 'AESGCM' (expected chacha-poly or aes-gcm)");
  node_config empty;
  empty.cipher.clear();
  auto st = crust::validate(empty);
  BOOST_REQUIRE(!st);
  BOOST_CHECK_EQUAL(st.error().detail,
                    "crust.cipher: unknown cipher '' (expected chacha-poly or "
                    "aes-gcm)");
}

BOOST_AUTO_TEST_CASE(limits_are_accepted) {
  auto x = parse({"--crust.tcp-port=65535", "--crust.max-message-size=1"});
  BOOST_REQUIRE(x);
  BOOST_CHECK_EQUAL(x->tcp_port, 65535);
  BOOST_CHECK_EQUAL(x->max_message_size, 1u);
  auto y = parse({"--crust.max-message-size=67108864"});
  BOOST_REQUIRE(y);
  BOOST_CHECK_EQUAL(y->max_message_size, 64u << 20);
  for (auto level : crust::log::level_names) {
    auto z = parse({"--crust.log-level=" + std::string{level}});
    BOOST_CHECK(z);
  }
}

BOOST_AUTO_TEST_CASE(bad_values_are_refused_naming_the_option) {
  check_refused({"--crust.log-level=verbose"}, "crust.log-level",
                "unknown log level 'verbose'");
  check_refused({"--crust.log-level=INFO"}, "crust.log-level", "INFO");
  check_refused({"--crust.tcp-port=65536"}, "crust.tcp-port",
                "between 0 and 65535, got 65536");
  check_refused({"--crust.tcp-port=-1"}, "crust.tcp-port", "got -1");
  check_refused({"--crust.max-message-size=0"}, "crust.max-message-size",
                "got 0");
  check_refused({"--crust.max-message-size=67108865"}, "crust.max-message-size",
                "67108864");
  check_refused({"--crust.network-name=" + std::string(256, 'n')},
                "crust.network-name", "at most 255 bytes");
}

BOOST_AUTO_TEST_CASE(validate_checks_programmatic_configs) {
  node_config x;
  x.max_message_size = 0;
  auto st = crust::validate(x);
  BOOST_CHECK(!st);
  BOOST_CHECK(st.code() == errc::invalid_config);
  BOOST_CHECK_EQUAL(st.error().message(),
                    "invalid configuration value: crust.max-message-size: "
                    "must be between 1 and 67108864, got 0");
  node_config y;
  y.network_name = "tab\there";
  BOOST_CHECK(!crust::validate(y));
  y.network_name.clear();
  auto empty = crust::validate(y);
  BOOST_REQUIRE(!empty);
  BOOST_CHECK_EQUAL(empty.error().detail,
                    "crust.network-name: must not be empty");
  node_config z;
  z.log_level = "loud";
  BOOST_CHECK(!crust::validate(z));
}

BOOST_AUTO_TEST_CASE(log_levels_are_validated) {
  BOOST_CHECK(crust::log::set_level("debug"));
  BOOST_CHECK(crust::log::logger().level() == spdlog::level::debug);
  BOOST_CHECK(crust::log::set_level("warn"));
  BOOST_CHECK(crust::log::logger().level() == spdlog::level::warn);
  auto st = crust::log::set_level("chatty");
  BOOST_CHECK(!st);
  BOOST_CHECK(st.code() == errc::invalid_config);
  BOOST_CHECK(st.error().detail.find("chatty") != std::string::npos);
  BOOST_CHECK(crust::log::logger().level() == spdlog::level::warn);
  BOOST_CHECK(crust::log::set_level("info"));
  BOOST_CHECK_EQUAL(crust::log::logger().name(), "crust");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(connection_and_abuse_options_are_read) {
  using namespace std::chrono_literals;
  auto x = parse(
    {"--crust.handshake-timeout=3s", "--crust.heartbeat-interval=200ms",
     "--crust.inactivity-timeout=1s", "--crust.max-queued-bytes=4194304",
     "--crust.queue-expiry=30s", "--crust.max-pending-connections=50",
     "--crust.max-messages-per-second=100",
     "--crust.max-bytes-per-second=1000000",
     "--crust.ban-after-misbehaviours=3", "--crust.ban-duration=1h",
     "--crust.whitelist=[\"127.0.0.1\", \"::1\"]",
     "--crust.client-whitelist=[\"10.0.0.1\"]"});
  BOOST_REQUIRE_MESSAGE(x, (x ? "" : x.error().message()));
  BOOST_CHECK(x->handshake_timeout == 3s);
  BOOST_CHECK(x->heartbeat_interval == 200ms);
  BOOST_CHECK(x->inactivity_timeout == 1s);
  BOOST_CHECK_EQUAL(x->max_queued_bytes, 4194304u);
  BOOST_CHECK(x->queue_expiry == 30s);
  BOOST_CHECK_EQUAL(x->max_pending_connections, 50u);
  BOOST_CHECK_EQUAL(x->max_messages_per_second, 100u);
  BOOST_CHECK_EQUAL(x->max_bytes_per_second, 1000000u);
  BOOST_CHECK_EQUAL(x->ban_after_misbehaviours, 3u);
  BOOST_CHECK(x->ban_duration == 1h);
  BOOST_REQUIRE_EQUAL(x->whitelist.size(), 2u);
  BOOST_CHECK_EQUAL(x->whitelist[1], "::1");
  BOOST_REQUIRE_EQUAL(x->client_whitelist.size(), 1u);
  // The queue limit follows a larger message limit unless it is set.
  auto y = parse({"--crust.max-message-size=67108864"});
  BOOST_REQUIRE(y);
  BOOST_CHECK_EQUAL(y->max_queued_bytes, size_t{64} << 20);
}

BOOST_AUTO_TEST_CASE(bad_connection_options_are_refused_naming_the_option) {
  check_refused({"--crust.heartbeat-interval=20s",
                 "--crust.inactivity-timeout=10s"},
                "crust.inactivity-timeout", "must exceed");
  check_refused({"--crust.max-message-size=1048576",
                 "--crust.max-queued-bytes=1000"},
                "crust.max-queued-bytes", "at least");
  check_refused({"--crust.whitelist=[\"127.0.0.1\", \"example.org\"]"},
                "crust.whitelist", "'example.org' is not an IPv4 or IPv6");
  check_refused({"--crust.handshake-timeout=0s"}, "crust.handshake-timeout",
                "must be positive");
  check_refused({"--crust.max-pending-connections=0"},
                "crust.max-pending-connections", "between");
}
