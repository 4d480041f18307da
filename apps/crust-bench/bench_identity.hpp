#pragma once

#include "crust/messages/config.hpp"
#include "crust/messages/type_ids.hpp"
#include "crust/transport/noise/primitives.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

#include <cstdint>
#include <stdexcept>

namespace crust::bench {

/// A fixed key pair per seed: benchmark roles in separate processes know
/// each other's peer id without exchanging it, and need no secrecy.
inline noise::keypair seeded_keys(uint8_t seed) {
  noise::key32 priv{};
  for (size_t i = 0; i < priv.size(); ++i)
    priv[i] = static_cast<uint8_t>(seed * 41 + i + 7);
  auto kp = noise::keypair::from_private(priv);
  if (!kp)
    throw std::runtime_error{"cannot derive a key pair"};
  return *kp;
}

/// The actor system of a benchmark role: crust's defaults (types, the
/// scheduler's polling), two workers (the machines these run on have two
/// cores), CAF's own log quiet.
struct quiet_system_config : crust::system_config {
  quiet_system_config() {
    set("scheduler.max-threads", 2);
    set("logger.console-verbosity", caf::atom("quiet"));
    set("logger.file-verbosity", caf::atom("quiet"));
  }
};

} // namespace crust::bench
