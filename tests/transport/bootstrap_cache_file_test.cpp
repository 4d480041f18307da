#include "crust/transport/bootstrap_cache_file.hpp"
#include "crust/transport/codec/bootstrap_cache_codec.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace crust;
using namespace std::chrono_literals;

namespace fs = std::filesystem;

namespace {

peer_id pid(uint8_t n) {
  peer_id::bytes_type bytes{};
  bytes.fill(n);
  return peer_id{bytes};
}

std::vector<endpoint> eps(const std::string& text) {
  return {*endpoint::parse(text)};
}

using time_point = std::chrono::system_clock::time_point;

/// 2026-12-03T10:00:00Z.
const time_point noon = time_point{std::chrono::seconds{1796292000}};

std::vector<cache_entry> sample() {
  return {{pid(1), eps("192.0.2.1:5483"), time_point{5000ms}},
          {pid(2), eps("[2001:db8::2]:1"), time_point{4000ms}}};
}

/// A fresh directory, removed at the end of the test case.
struct temp_dir {
  fs::path path;

  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "crust-cache-XXXXXX");
    BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }

  ~temp_dir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (auto& x : fs::directory_iterator(path))
      out.push_back(x.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

std::string read(const fs::path& p) {
  std::ifstream in{p};
  return {std::istreambuf_iterator<char>{in}, {}};
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream out{p, std::ios::trunc};
  out << text;
}

} // namespace

BOOST_AUTO_TEST_SUITE(bootstrap_cache_file)

BOOST_AUTO_TEST_CASE(save_then_load_round_trips) {
  temp_dir dir;
  auto path = (dir.path / "bootstrap_cache.json").string();
  BOOST_REQUIRE(save_bootstrap_cache_file(path, sample()));
  auto loaded = load_bootstrap_cache_file(path, 200, noon);
  BOOST_CHECK(loaded.warning.empty());
  BOOST_CHECK(loaded.set_aside_path.empty());
  BOOST_CHECK(loaded.entries == sample());
  // Only the file itself: no temporary file is left behind.
  BOOST_CHECK(dir.names() == std::vector<std::string>{"bootstrap_cache.json"});
  // The capacity applies on load.
  BOOST_CHECK_EQUAL(load_bootstrap_cache_file(path, 1, noon).entries.size(),
                    1u);
}

BOOST_AUTO_TEST_CASE(a_missing_file_is_an_empty_cache) {
  temp_dir dir;
  auto loaded = load_bootstrap_cache_file((dir.path / "none.json").string(),
                                          200, noon);
  BOOST_CHECK(loaded.entries.empty());
  BOOST_CHECK(loaded.warning.empty());
}

BOOST_AUTO_TEST_CASE(a_corrupt_file_is_set_aside) {
  temp_dir dir;
  auto path = dir.path / "bootstrap_cache.json";
  auto good = encode_bootstrap_cache(sample());
  for (auto& bad : {std::string{"{not json"}, good.substr(0, good.size() / 2),
                    std::string{}}) {
    BOOST_TEST_CONTEXT("content '" << bad << "'") {
      write(path, bad);
      auto loaded = load_bootstrap_cache_file(path.string(), 200, noon);
      BOOST_CHECK(loaded.entries.empty());
      BOOST_CHECK(loaded.warning.find("starting with an empty cache")
                  != std::string::npos);
      BOOST_CHECK(!fs::exists(path));
      BOOST_REQUIRE(!loaded.set_aside_path.empty());
      BOOST_CHECK_EQUAL(read(loaded.set_aside_path), bad);
      BOOST_CHECK(loaded.warning.find(loaded.set_aside_path)
                  != std::string::npos);
    }
  }
  // Three set-aside files with distinct names (a counter after the first).
  auto names = dir.names();
  BOOST_REQUIRE_EQUAL(names.size(), 3u);
  BOOST_CHECK_EQUAL(names[0], "bootstrap_cache.json.corrupt-20261203T100000Z");
  BOOST_CHECK_EQUAL(names[1],
                    "bootstrap_cache.json.corrupt-20261203T100000Z-1");
  // The node saves afresh next to them.
  BOOST_CHECK(save_bootstrap_cache_file(path.string(), sample()));
  BOOST_CHECK(load_bootstrap_cache_file(path.string(), 200, noon).entries
              == sample());
}

BOOST_AUTO_TEST_CASE(a_failed_write_leaves_no_partial_file) {
  temp_dir dir;
  auto path = dir.path / "bootstrap_cache.json";
  BOOST_REQUIRE(save_bootstrap_cache_file(path.string(), sample()));
  auto before = read(path);
  // Replacing a non-empty directory fails at the rename, after the
  // temporary file was written: it must be removed again.
  auto blocked = dir.path / "blocked";
  fs::create_directories(blocked / "inside");
  auto res = save_bootstrap_cache_file(blocked.string(), sample());
  BOOST_REQUIRE(!res);
  BOOST_CHECK(res.error().code == errc::file_io);
  BOOST_CHECK(res.error().detail.find("replace") != std::string::npos);
  BOOST_CHECK((dir.names()
               == std::vector<std::string>{"blocked", "bootstrap_cache.json"}));
  // The good file was never touched.
  BOOST_CHECK_EQUAL(read(path), before);
  BOOST_CHECK(!save_bootstrap_cache_file("", sample()));
}

BOOST_AUTO_TEST_CASE(save_creates_a_private_directory) {
  temp_dir dir;
  auto path = dir.path / "a" / "b" / "bootstrap_cache.json";
  BOOST_REQUIRE(save_bootstrap_cache_file(path.string(), sample()));
  struct stat info {};
  BOOST_REQUIRE(::stat((dir.path / "a" / "b").c_str(), &info) == 0);
  BOOST_CHECK_EQUAL(info.st_mode & 0777, 0700u);
}

BOOST_AUTO_TEST_CASE(default_path_is_next_to_the_key_file) {
  BOOST_CHECK_EQUAL(*default_bootstrap_cache_path("/x/y/node.key"),
                    "/x/y/bootstrap_cache.json");
  auto* old = std::getenv("XDG_DATA_HOME");
  std::string saved = old ? old : "";
  ::setenv("XDG_DATA_HOME", "/data", 1);
  BOOST_CHECK_EQUAL(*default_bootstrap_cache_path(),
                    "/data/crust/bootstrap_cache.json");
  if (old)
    ::setenv("XDG_DATA_HOME", saved.c_str(), 1);
  else
    ::unsetenv("XDG_DATA_HOME");
}

BOOST_AUTO_TEST_CASE(corrupt_names_carry_a_utc_timestamp) {
  BOOST_CHECK_EQUAL(corrupt_cache_name("/c.json", noon),
                    "/c.json.corrupt-20261203T100000Z");
}

BOOST_AUTO_TEST_SUITE_END()
