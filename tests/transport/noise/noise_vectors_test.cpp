// Runs the third-party Noise test vectors in tests/data/noise (see ORIGIN.md)
// with an initiator and a responder exchanging the messages, byte for byte.

#include "crust/transport/noise/handshake_state.hpp"

#include "support/engine_test_support.hpp"

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

using namespace crust;
using namespace crust::noise;
using namespace crust::test;
using json = nlohmann::json;

namespace {

const char* vector_files[] = {
  "snow-cacophony.json",
  "noise-c-cacophony.json",
  "noise-c-basic.json",
};

/// Vectors the selection must find in the three files: snow 10 protocol
/// names (NN, NNpsk0, NNpsk2, XX, XXpsk3, IK, IKpsk1, IKpsk2, XK, XKpsk3) x 3
/// suites, plus NN, XX, IK, XK x 3 suites in each noise-c file.
constexpr size_t minimum_expected = 54;

/// The selection, decided from the name alone: the patterns and suites crust
/// implements. "NoisePSK_" names (the obsolete pre-rev-31 PSK mode) never
/// match, on purpose.
bool selected(const std::string& name) {
  static const std::regex re{
    "Noise_(NN|XX|IK|XK)(psk[0-9](\\+psk[0-9])*)?_25519_"
    "(ChaChaPoly_SHA256|ChaChaPoly_BLAKE2s|AESGCM_SHA256)"};
  return std::regex_match(name, re);
}

/// The string at `key`, or "" when absent.
std::string text_of(const json& v, const std::string& key) {
  auto i = v.find(key);
  if (i == v.end() || !i->is_string())
    return {};
  return i->get<std::string>();
}

/// snow's files say "protocol_name", noise-c's older ones "name".
std::string name_of(const json& v) {
  auto name = text_of(v, "protocol_name");
  return name.empty() ? text_of(v, "name") : name;
}

key32 key_of(const json& v, const char* field) {
  return key_from_hex(v[field].get<std::string>());
}

json load(const std::string& file) {
  std::ifstream in{std::string{CRUST_TEST_DATA_DIR} + "/noise/" + file};
  BOOST_REQUIRE_MESSAGE(in.good(), "cannot open " << file);
  return json::parse(in);
}

handshake_config config_of(const json& v, role side) {
  auto prefix = std::string{side == role::initiator ? "init_" : "resp_"};
  auto field = [&](const char* suffix) {
    return prefix + suffix;
  };
  handshake_config cfg;
  cfg.protocol_name = name_of(v);
  cfg.side = side;
  cfg.prologue = from_hex(text_of(v, field("prologue")));
  if (v.contains(field("static"))) {
    auto kp = keypair::from_private(key_of(v, field("static").c_str()));
    BOOST_REQUIRE(kp);
    cfg.local_static = *kp;
  }
  if (v.contains(field("remote_static")))
    cfg.remote_static = key_of(v, field("remote_static").c_str());
  if (v.contains(field("psks")))
    for (const auto& psk : v[field("psks")])
      cfg.psks.push_back(key_from_hex(psk.get<std::string>()));
  // The vector fixes the ephemeral key: hand it out exactly once.
  if (v.contains(field("ephemeral"))) {
    auto priv = key_of(v, field("ephemeral").c_str());
    auto used = std::make_shared<bool>(false);
    cfg.ephemeral_source = [priv, used]() -> expected<keypair> {
      if (*used)
        return failure{errc::invalid_config, "fixed ephemeral used twice"};
      *used = true;
      return keypair::from_private(priv);
    };
  }
  return cfg;
}

/// Runs one vector; true when every check passed.
bool run_vector(const json& v) {
  bool ok = true;
  auto check = [&ok](bool cond, const std::string& what) {
    BOOST_TEST(cond, what);
    ok = ok && cond;
    return cond;
  };
  auto check_bytes = [&check](const_byte_span actual,
                              const std::string& expected_hex,
                              const std::string& what) {
    auto actual_hex = hex::encode(actual.data(), actual.size());
    return check(actual_hex == expected_hex,
                 what + ": got " + actual_hex + ", want " + expected_hex);
  };
  auto init = handshake_state::create(config_of(v, role::initiator));
  auto resp = handshake_state::create(config_of(v, role::responder));
  if (!check(static_cast<bool>(init), "initiator created")
      || !check(static_cast<bool>(resp), "responder created")) {
    if (!init)
      BOOST_TEST_MESSAGE(init.error().message());
    if (!resp)
      BOOST_TEST_MESSAGE(resp.error().message());
    return false;
  }
  const auto& messages = v["messages"];
  size_t i = 0;
  // Handshake: message i is written by the initiator when i is even.
  for (; i < messages.size() && !(init->is_complete() && resp->is_complete());
       ++i) {
    auto& writer = i % 2 == 0 ? *init : *resp;
    auto& reader = i % 2 == 0 ? *resp : *init;
    auto ctx = "handshake message " + std::to_string(i);
    if (!check(writer.is_my_turn() && !reader.is_my_turn(), ctx + ": turn"))
      return false;
    auto payload = from_hex(messages[i]["payload"].get<std::string>());
    byte_buffer wire;
    auto st = writer.write_message(payload, wire);
    if (!check(static_cast<bool>(st), ctx + ": write " + st.error().message()))
      return false;
    check_bytes(wire, messages[i]["ciphertext"].get<std::string>(),
                ctx + " ciphertext");
    byte_buffer got;
    st = reader.read_message(wire, got);
    if (!check(static_cast<bool>(st), ctx + ": read " + st.error().message()))
      return false;
    check_bytes(got, messages[i]["payload"].get<std::string>(),
                ctx + " payload");
  }
  if (!check(init->is_complete() && resp->is_complete(),
             "handshake completes within the vector's messages"))
    return false;
  check(init->handshake_hash() == resp->handshake_hash(),
        "both sides agree on the handshake hash");
  if (v.contains("handshake_hash"))
    check_bytes(init->handshake_hash(), v["handshake_hash"].get<std::string>(),
                "handshake hash");
  // Each side learned the other's static key (when the pattern has one).
  if (v.contains("resp_static")) {
    auto pub = keypair::from_private(key_of(v, "resp_static"));
    check(init->remote_static() && *init->remote_static() == pub->pub,
          "initiator knows the responder's static key");
  }
  if (v.contains("init_static")) {
    auto pub = keypair::from_private(key_of(v, "init_static"));
    check(resp->remote_static() && *resp->remote_static() == pub->pub,
          "responder knows the initiator's static key");
  }
  auto init_keys = init->split();
  auto resp_keys = resp->split();
  if (!check(init_keys && resp_keys, "split"))
    return false;
  check(init_keys->handshake_hash == init->handshake_hash(),
        "split carries the handshake hash");
  // Transport: the initiator sends with c1, the responder with c2; the
  // message index keeps alternating the sender.
  size_t transport_messages = 0;
  for (; i < messages.size(); ++i) {
    auto& tx = i % 2 == 0 ? init_keys->send : resp_keys->send;
    auto& rx = i % 2 == 0 ? resp_keys->receive : init_keys->receive;
    auto ctx = "transport message " + std::to_string(i);
    auto payload = from_hex(messages[i]["payload"].get<std::string>());
    byte_buffer wire;
    auto st = tx.encrypt_with_ad({}, payload, wire);
    if (!check(static_cast<bool>(st), ctx + ": encrypt"))
      return false;
    check_bytes(wire, messages[i]["ciphertext"].get<std::string>(),
                ctx + " ciphertext");
    byte_buffer got;
    st = rx.decrypt_with_ad({}, wire, got);
    if (!check(static_cast<bool>(st), ctx + ": decrypt"))
      return false;
    check_bytes(got, messages[i]["payload"].get<std::string>(),
                ctx + " payload");
    ++transport_messages;
  }
  check(transport_messages > 0, "the vector has transport messages");
  return ok;
}

} // namespace

BOOST_AUTO_TEST_SUITE(noise_vectors_suite)

BOOST_AUTO_TEST_CASE(all_selected_vectors) {
  // Count first, from the names alone, so that a vector the runner skips or
  // fails shows up as N < M.
  size_t expected = 0;
  size_t obsolete = 0;
  std::vector<json> files;
  for (auto file : vector_files) {
    files.push_back(load(file));
    size_t in_file = 0;
    for (const auto& v : files.back()["vectors"]) {
      auto name = name_of(v);
      if (name.rfind("NoisePSK_", 0) == 0)
        ++obsolete;
      else if (selected(name))
        ++in_file;
    }
    std::cout << file << ": " << in_file << " selected vectors\n";
    expected += in_file;
  }
  size_t ran = 0;
  for (size_t f = 0; f < files.size(); ++f) {
    for (const auto& v : files[f]["vectors"]) {
      auto name = name_of(v);
      if (!selected(name))
        continue;
      BOOST_TEST_CONTEXT(vector_files[f] << ": " << name) {
        if (run_vector(v))
          ++ran;
      }
    }
  }
  std::cout << "ran " << ran << " noise vectors (expected " << expected
            << "); skipped " << obsolete
            << " obsolete NoisePSK_ vectors (pre-revision-31 PSK mode)"
            << std::endl;
  BOOST_TEST(ran > 0u);
  BOOST_TEST(ran >= expected);
  BOOST_TEST(expected >= minimum_expected);
}

BOOST_AUTO_TEST_SUITE_END()
