#include "crust/messages/errc.hpp"
#include "crust/transport/identity.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

using crust::errc;
using crust::node_identity;

namespace {

/// A fresh directory under /tmp, removed with everything in it.
struct temp_dir_fixture {
  std::string dir;

  temp_dir_fixture() {
    char tmpl[] = "/tmp/crust-identity-XXXXXX";
    auto ptr = ::mkdtemp(tmpl);
    BOOST_REQUIRE(ptr != nullptr);
    dir = ptr;
  }

  ~temp_dir_fixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  std::string path(const std::string& name) const {
    return dir + "/" + name;
  }

  /// Writes `content` to `name` with `mode`.
  std::string write(const std::string& name, const std::string& content,
                    mode_t mode = 0600) {
    auto p = path(name);
    {
      std::ofstream out{p, std::ios::binary | std::ios::trunc};
      out << content;
    }
    BOOST_REQUIRE_EQUAL(::chmod(p.c_str(), mode), 0);
    return p;
  }
};

mode_t mode_of(const std::string& path) {
  struct stat st {};
  BOOST_REQUIRE_EQUAL(::stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// Restores an environment variable at scope exit.
struct env_guard {
  std::string name;
  std::optional<std::string> old;

  explicit env_guard(std::string var) : name(std::move(var)) {
    if (auto val = std::getenv(name.c_str()))
      old = val;
  }

  ~env_guard() {
    if (old)
      ::setenv(name.c_str(), old->c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
};

// RFC 7748 section 6.1: Alice's X25519 key pair.
const std::string alice_priv
  = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
const std::string alice_pub
  = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";

} // namespace

BOOST_FIXTURE_TEST_SUITE(identity_suite, temp_dir_fixture)

BOOST_AUTO_TEST_CASE(create_writes_a_private_hex_key_with_mode_0600) {
  auto old_umask = ::umask(0); // must not matter
  auto key = path("a/b/node.key");
  auto id = node_identity::load_or_create(key);
  ::umask(old_umask);
  BOOST_REQUIRE_MESSAGE(id, (id ? std::string{} : id.error().message()));
  BOOST_CHECK_EQUAL(mode_of(key), 0600u);
  BOOST_CHECK_EQUAL(mode_of(path("a")), 0700u);
  BOOST_CHECK_EQUAL(mode_of(path("a/b")), 0700u);
  auto content = read_file(key);
  BOOST_REQUIRE_EQUAL(content.size(), 65u);
  BOOST_CHECK_EQUAL(content.back(), '\n');
  BOOST_CHECK_EQUAL(content.find_first_not_of("0123456789abcdef"), 64u);
  BOOST_CHECK(!id->peer_id().is_zero());
  BOOST_CHECK(id->peer_id().bytes() == id->keys().pub);
  // No temporary file is left behind.
  std::vector<std::string> names;
  for (auto& entry : fs::directory_iterator(path("a/b")))
    names.push_back(entry.path().filename().string());
  BOOST_REQUIRE_EQUAL(names.size(), 1u);
  BOOST_CHECK_EQUAL(names[0], "node.key");
}

BOOST_AUTO_TEST_CASE(reload_gives_the_same_peer_id) {
  auto key = path("node.key");
  auto first = node_identity::load_or_create(key);
  BOOST_REQUIRE(first);
  auto content = read_file(key);
  auto second = node_identity::load_or_create(key);
  BOOST_REQUIRE(second);
  BOOST_CHECK_EQUAL(second->peer_id(), first->peer_id());
  auto third = node_identity::load(key);
  BOOST_REQUIRE(third);
  BOOST_CHECK_EQUAL(third->peer_id(), first->peer_id());
  BOOST_CHECK(third->keys().priv == first->keys().priv);
  BOOST_CHECK_EQUAL(read_file(key), content);
  auto other = node_identity::load_or_create(path("other.key"));
  BOOST_REQUIRE(other);
  BOOST_CHECK_NE(other->peer_id(), first->peer_id());
}

BOOST_AUTO_TEST_CASE(known_private_key_gives_known_peer_id) {
  std::string upper;
  for (auto c : alice_priv)
    upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto key = write("alice.key", upper + " \r\n\n");
  auto id = node_identity::load(key);
  BOOST_REQUIRE_MESSAGE(id, (id ? std::string{} : id.error().message()));
  BOOST_CHECK_EQUAL(id->peer_id().to_hex(), alice_pub);
}

BOOST_AUTO_TEST_CASE(group_or_world_access_is_refused) {
  auto key = path("node.key");
  auto id = node_identity::load_or_create(key);
  BOOST_REQUIRE(id);
  auto content = read_file(key);
  for (mode_t mode : {0644, 0640, 0604, 0660, 0620, 0602}) {
    BOOST_REQUIRE_EQUAL(::chmod(key.c_str(), mode), 0);
    char octal[8];
    std::snprintf(octal, sizeof(octal), "%04o", static_cast<unsigned>(mode));
    BOOST_TEST_CONTEXT("mode " << octal) {
      for (auto load : {&node_identity::load, &node_identity::load_or_create}) {
        auto x = load(key);
        BOOST_REQUIRE(!x);
        BOOST_CHECK(x.error() == errc::key_file_permissions);
        BOOST_CHECK_EQUAL(x.error().detail, key + " has mode " + octal
                                              + "; run chmod 600 " + key);
      }
    }
  }
  // Refusing never rewrites the file.
  BOOST_CHECK_EQUAL(read_file(key), content);
  BOOST_REQUIRE_EQUAL(::chmod(key.c_str(), 0400), 0);
  auto again = node_identity::load(key);
  BOOST_REQUIRE(again);
  BOOST_CHECK_EQUAL(again->peer_id(), id->peer_id());
}

BOOST_AUTO_TEST_CASE(malformed_files_are_refused_naming_the_file) {
  struct sample_case {
    std::string name;
    std::string content;
    std::string detail;
  };
  std::vector<sample_case> cases{
    {"empty.key", "", "expected 64 hex characters"},
    {"short.key", alice_priv.substr(0, 62) + "\n", "got 62"},
    {"long.key", alice_priv + "00\n", "got 66"},
    {"char.key", alice_priv.substr(0, 10) + "x" + alice_priv.substr(11),
     "invalid character at position 10"},
    {"inner.key", alice_priv.substr(0, 32) + " " + alice_priv.substr(32),
     "got 65"},
    {"huge.key", std::string(10000, 'a'), "larger than 4096 bytes"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto key = write(c.name, c.content);
      for (auto load : {&node_identity::load, &node_identity::load_or_create}) {
        auto x = load(key);
        BOOST_REQUIRE(!x);
        BOOST_CHECK(x.error() == errc::key_file_malformed);
        BOOST_CHECK_MESSAGE(x.error().detail.find(key + ": ") == 0,
                            x.error().detail);
        BOOST_CHECK_MESSAGE(x.error().detail.find(c.detail)
                              != std::string::npos,
                            x.error().detail);
      }
      BOOST_CHECK_EQUAL(read_file(key), c.content);
    }
  }
}

BOOST_AUTO_TEST_CASE(missing_or_unreadable_files) {
  auto missing = node_identity::load(path("missing.key"));
  BOOST_REQUIRE(!missing);
  BOOST_CHECK(missing.error() == errc::key_file_io);
  BOOST_CHECK(missing.error().detail.find(path("missing.key"))
              != std::string::npos);
  // A directory is not a key file.
  fs::create_directory(path("dir.key"));
  ::chmod(path("dir.key").c_str(), 0700);
  auto in_dir = node_identity::load_or_create(path("dir.key"));
  BOOST_REQUIRE(!in_dir);
  BOOST_CHECK(in_dir.error() == errc::key_file_io);
  // A parent that is a file.
  write("plain", "x");
  auto below_file = node_identity::load_or_create(path("plain/node.key"));
  BOOST_REQUIRE(!below_file);
  BOOST_CHECK(below_file.error() == errc::key_file_io);
  BOOST_CHECK(!node_identity::load_or_create(""));
}

BOOST_AUTO_TEST_CASE(generated_identities_differ) {
  auto x = node_identity::generate();
  auto y = node_identity::generate();
  BOOST_REQUIRE(x && y);
  BOOST_CHECK_NE(x->peer_id(), y->peer_id());
}

BOOST_AUTO_TEST_CASE(default_key_path_follows_xdg) {
  env_guard xdg{"XDG_DATA_HOME"};
  env_guard home{"HOME"};
  ::setenv("XDG_DATA_HOME", "/data/me", 1);
  ::setenv("HOME", "/home/me", 1);
  auto p = crust::default_key_path();
  BOOST_REQUIRE(p);
  BOOST_CHECK_EQUAL(*p, "/data/me/crust/node.key");
  ::unsetenv("XDG_DATA_HOME");
  p = crust::default_key_path();
  BOOST_REQUIRE(p);
  BOOST_CHECK_EQUAL(*p, "/home/me/.local/share/crust/node.key");
  // The XDG spec ignores relative paths.
  ::setenv("XDG_DATA_HOME", "relative", 1);
  p = crust::default_key_path();
  BOOST_REQUIRE(p);
  BOOST_CHECK_EQUAL(*p, "/home/me/.local/share/crust/node.key");
  ::setenv("XDG_DATA_HOME", "", 1);
  p = crust::default_key_path();
  BOOST_REQUIRE(p);
  BOOST_CHECK_EQUAL(*p, "/home/me/.local/share/crust/node.key");
}

BOOST_AUTO_TEST_SUITE_END()
