// `rayx stop [--data-dir D]`: stops the node daemon of D, or every daemon of this machine.
#pragma once

#include <CLI/CLI.hpp>

namespace rayx::cli {

void AddStopCommand(CLI::App* app);

}  // namespace rayx::cli
