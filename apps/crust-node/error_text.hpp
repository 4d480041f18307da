#pragma once

#include "crust/messages/errc.hpp"

#include <caf/error.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace crust_node {

/// The enumerator's name, e.g. "peer_closed": what scripts match on (the
/// `code` field of an error in docs/crust-node.md).
std::string_view errc_name(crust::errc code) noexcept;

/// An error as crust-node prints it.
struct error_text {
  /// The enumerator name of a crust error ("peer_silent"), CAF's name for
  /// its own categories ("request_timeout", "user_shutdown"), or
  /// "bad_command" for crust-node's own command errors.
  std::string code;

  /// The error category: "crust", "system", "exit", "parser", "crust-node"
  /// ("none" with code "none" for the absence of an error).
  std::string category;

  /// A sentence for people (the system's rendering of the error).
  std::string message;
};

/// Renders an error as the actor system does (`sys.render`).
using error_renderer = std::function<std::string(const caf::error&)>;

/// Describes `err` with `render` for the message.
error_text describe(const caf::error& err, const error_renderer& render);

/// A crust-node error that has no CAF error behind it (a bad command).
error_text command_error(std::string message);

} // namespace crust_node
