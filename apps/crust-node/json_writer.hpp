#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace crust_node {

/// `text` as a JSON string literal, quotes included. Control characters are
/// escaped; bytes that are not valid UTF-8 become U+FFFD, so every line
/// crust-node prints parses as JSON whatever a peer sent.
std::string json_string(std::string_view text);

/// Builds one JSON object, fields in the order added. Values given as
/// `raw` must already be JSON (an object or array from another writer).
class json_object {
public:
  json_object& add(std::string_view key, std::string_view value);
  json_object& add(std::string_view key, const char* value);
  json_object& add_number(std::string_view key, uint64_t value);
  json_object& add_bool(std::string_view key, bool value);
  json_object& add_raw(std::string_view key, std::string_view json);

  /// The object text, `{...}`.
  std::string str() const;

private:
  void key(std::string_view name);

  std::string body_;
};

/// Builds one JSON array of already encoded values.
class json_array {
public:
  json_array& add_raw(std::string_view json);
  json_array& add(std::string_view value);

  /// The array text, `[...]`.
  std::string str() const;

private:
  std::string body_;
};

/// True if `text` is valid UTF-8 (no overlong forms, no surrogates).
bool is_valid_utf8(std::string_view text) noexcept;

} // namespace crust_node
