// `rayx worker` (hidden): the role a node starts its workers in. Not for users.
//
//   rayx worker --node-socket PATH --worker-id HEX
//
// The worker dies with its node: it asks the kernel for SIGKILL when its parent goes
// (PR_SET_PDEATHSIG), and it ends when its connection to the node closes.
#pragma once

#include <CLI/CLI.hpp>

namespace rayx::cli {

void AddWorkerCommand(CLI::App* app);

}  // namespace rayx::cli
