// `rayx start`: a node daemon (the same Node a driver embeds, plus the peer listener), alone or
// joining a cluster through any member; returns once the node serves, unless --block.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <string>

#include "engine/base/status.h"

namespace rayx::cli {

void AddStartCommand(CLI::App* app);

// Parses a flat JSON object of numbers, such as {"a": 1, "b": 0.5}.
StatusOr<std::map<std::string, double>> ParseResourcesJson(const std::string& json);

}  // namespace rayx::cli
