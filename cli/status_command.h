// `rayx status [--json]`: the rayx nodes alive on this machine, their resources and their object
// stores. Nodes are found through their session directories (engine/node/session_dirs.h) and asked
// over their sockets as observers, which may only read.
#pragma once

#include <CLI/CLI.hpp>

namespace rayx::cli {

void AddStatusCommand(CLI::App* app);

}  // namespace rayx::cli
