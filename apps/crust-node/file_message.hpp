#pragma once

#include "crust/transport/byte_span.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// How crust-node tells a file from a text message: a file message is the
/// magic bytes, the file name and the content (docs/crust-node.md, "Files").
/// Anything else is an ordinary message.
namespace crust_node {

/// `\0CNF1`: no text message starts with a NUL byte.
constexpr std::array<uint8_t, 5> file_magic = {0x00, 'C', 'N', 'F', '1'};

/// Longest file name carried, in bytes.
constexpr size_t max_file_name_size = 255;

/// Bytes a file message adds to the content of a file named `name`.
size_t file_overhead(std::string_view name) noexcept;

/// Magic, the name's length (u16, big-endian), the name, the content.
/// `name` is cut to `max_file_name_size` bytes.
std::vector<uint8_t> encode_file_message(std::string_view name,
                                         crust::const_byte_span content);

/// A decoded file message: views into the payload it came from.
struct file_view {
  std::string name;
  crust::const_byte_span content;
};

/// The file in `payload`, or nothing if it is not a well-formed file
/// message.
std::optional<file_view> decode_file_message(const std::vector<uint8_t>& p);

/// A name safe to create in the receive directory: the last path component,
/// characters other than letters, digits, '.', '-' and '_' replaced by '_',
/// no leading dot, at most 100 characters; "file" if nothing is left.
std::string safe_file_name(std::string_view name);

/// The last component of `path` ("dir/a.txt" -> "a.txt").
std::string base_name(std::string_view path);

/// SHA-256 of `bytes` as 64 lower-case hex characters.
std::string sha256_hex(crust::const_byte_span bytes);

/// True if `bytes` is text worth printing as is: valid UTF-8 without
/// control characters other than tab.
bool is_printable_text(crust::const_byte_span bytes);

} // namespace crust_node
