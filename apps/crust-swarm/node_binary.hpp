#pragma once

#include <string>

namespace crust_swarm {

/// The crust-node to run when --node-binary is not given: the one next to
/// this executable (the build tree and `make install` put them side by
/// side), else the first `crust-node` on PATH. Empty if there is none.
std::string default_node_binary();

/// True if `path` is a regular file we may execute.
bool is_executable_file(const std::string& path);

} // namespace crust_swarm
