#include "file_message.hpp"

#include "crust/messages/hex.hpp"
#include "crust/transport/noise/primitives.hpp"

#include "json_writer.hpp"

#include <algorithm>

namespace crust_node {

size_t file_overhead(std::string_view name) noexcept {
  return file_magic.size() + 2 + std::min(name.size(), max_file_name_size);
}

std::vector<uint8_t> encode_file_message(std::string_view name,
                                         crust::const_byte_span content) {
  name = name.substr(0, max_file_name_size);
  std::vector<uint8_t> out;
  out.reserve(file_overhead(name) + content.size());
  out.insert(out.end(), file_magic.begin(), file_magic.end());
  out.push_back(static_cast<uint8_t>(name.size() >> 8));
  out.push_back(static_cast<uint8_t>(name.size() & 0xFF));
  out.insert(out.end(), name.begin(), name.end());
  out.insert(out.end(), content.begin(), content.end());
  return out;
}

std::optional<file_view> decode_file_message(const std::vector<uint8_t>& p) {
  constexpr auto header = file_magic.size() + 2;
  if (p.size() < header
      || !std::equal(file_magic.begin(), file_magic.end(), p.begin()))
    return std::nullopt;
  size_t len = (size_t{p[file_magic.size()]} << 8) | p[file_magic.size() + 1];
  if (len > max_file_name_size || p.size() < header + len)
    return std::nullopt;
  file_view out;
  out.name.assign(reinterpret_cast<const char*>(p.data() + header), len);
  out.content = crust::const_byte_span{p.data() + header + len,
                                       p.size() - header - len};
  return out;
}

std::string base_name(std::string_view path) {
  while (!path.empty() && path.back() == '/')
    path.remove_suffix(1);
  auto slash = path.find_last_of('/');
  if (slash != std::string_view::npos)
    path.remove_prefix(slash + 1);
  return std::string{path};
}

std::string safe_file_name(std::string_view name) {
  // A peer may send "../../.bashrc" or "a\\b": only the last component of
  // either separator survives.
  auto last = name.find_last_of("/\\");
  if (last != std::string_view::npos)
    name.remove_prefix(last + 1);
  std::string out;
  for (auto c : name.substr(0, 100)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    out += ok ? c : '_';
  }
  if (!out.empty() && out.front() == '.')
    out.front() = '_';
  if (out.empty())
    out = "file";
  return out;
}

std::string sha256_hex(crust::const_byte_span bytes) {
  auto digest = crust::noise::hash(crust::noise::hash_kind::sha256, bytes);
  return crust::hex::encode(digest.data(), digest.size());
}

bool is_printable_text(crust::const_byte_span bytes) {
  std::string_view text{reinterpret_cast<const char*>(bytes.data()),
                        bytes.size()};
  if (!is_valid_utf8(text))
    return false;
  for (auto c : text) {
    auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7f)
      return false;
  }
  return true;
}

} // namespace crust_node
