#include "crust/messages/type_ids.hpp"

#include "crust/messages/interfaces.hpp"
#include "crust/transport/codec/connection_info.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>

#include <string>

namespace crust {

std::string render_error(uint8_t code, caf::atom_value,
                         const caf::message& context) {
  std::string out{to_string(static_cast<errc>(code))};
  if (context.empty())
    return out;
  if (context.match_elements<std::string>()) {
    const auto& detail = context.get_as<std::string>(0);
    if (!detail.empty()) {
      out += ": ";
      out += detail;
    }
    return out;
  }
  out += " (";
  out += to_string(context);
  out += ')';
  return out;
}

void add_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(error_category, render_error);
}

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::crust>();
  cfg.add_message_types<caf::id_block::crust_actors>();
  add_error_category(cfg);
}

caf::error to_error(const failure& x) {
  if (x.code == errc::none)
    return caf::error{};
  if (x.detail.empty())
    return caf::error{x.code};
  return caf::error{x.code, x.detail};
}

} // namespace crust
