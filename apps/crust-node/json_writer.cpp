#include "json_writer.hpp"

#include <cstdio>

namespace crust_node {

namespace {

/// Length of the valid UTF-8 sequence at the start of `text`, or 0.
size_t utf8_sequence_length(std::string_view text) noexcept {
  auto byte = [&](size_t i) {
    return static_cast<unsigned char>(text[i]);
  };
  auto continuation = [&](size_t i) {
    return i < text.size() && (byte(i) & 0xC0) == 0x80;
  };
  auto lead = byte(0);
  if (lead < 0x80)
    return 1;
  if (lead >= 0xC2 && lead <= 0xDF)
    return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (!continuation(1) || !continuation(2))
      return 0;
    if (lead == 0xE0 && byte(1) < 0xA0) // overlong
      return 0;
    if (lead == 0xED && byte(1) >= 0xA0) // surrogate
      return 0;
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3))
      return 0;
    if (lead == 0xF0 && byte(1) < 0x90) // overlong
      return 0;
    if (lead == 0xF4 && byte(1) >= 0x90) // above U+10FFFF
      return 0;
    return 4;
  }
  return 0;
}

} // namespace

bool is_valid_utf8(std::string_view text) noexcept {
  while (!text.empty()) {
    auto n = utf8_sequence_length(text);
    if (n == 0)
      return false;
    text.remove_prefix(n);
  }
  return true;
}

std::string json_string(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  while (!text.empty()) {
    auto n = utf8_sequence_length(text);
    if (n == 0) {
      out += "\xEF\xBF\xBD"; // U+FFFD for a byte that is not UTF-8
      text.remove_prefix(1);
      continue;
    }
    if (n > 1) {
      out.append(text.data(), n);
      text.remove_prefix(n);
      continue;
    }
    auto c = text.front();
    text.remove_prefix(1);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x",
                        static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

void json_object::key(std::string_view name) {
  if (!body_.empty())
    body_ += ',';
  body_ += json_string(name);
  body_ += ':';
}

json_object& json_object::add(std::string_view key_name,
                              std::string_view value) {
  key(key_name);
  body_ += json_string(value);
  return *this;
}

json_object& json_object::add(std::string_view key_name, const char* value) {
  return add(key_name, std::string_view{value});
}

json_object& json_object::add_number(std::string_view key_name,
                                     uint64_t value) {
  key(key_name);
  body_ += std::to_string(value);
  return *this;
}

json_object& json_object::add_bool(std::string_view key_name, bool value) {
  key(key_name);
  body_ += value ? "true" : "false";
  return *this;
}

json_object& json_object::add_raw(std::string_view key_name,
                                  std::string_view json) {
  key(key_name);
  body_ += json;
  return *this;
}

std::string json_object::str() const {
  return "{" + body_ + "}";
}

json_array& json_array::add_raw(std::string_view json) {
  if (!body_.empty())
    body_ += ',';
  body_ += json;
  return *this;
}

json_array& json_array::add(std::string_view value) {
  return add_raw(json_string(value));
}

std::string json_array::str() const {
  return "[" + body_ + "]";
}

} // namespace crust_node
