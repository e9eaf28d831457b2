// `rayx microbenchmark`: runs Ray's microbenchmark workloads on rayx and prints one figure per
// metric, under Ray's metric names (see embed/python/rayx/_private/microbenchmark.py).
//
//   rayx microbenchmark [--seconds S] [--runs N] [--filter TEXT] [--json]
//
// It starts the embedded interpreter and runs the Python module, which starts a node in this
// process as `rayx.init()` would. The exit status is the module's: 0 when it printed figures.
#pragma once

#include <CLI/CLI.hpp>

namespace rayx::cli {

void AddMicrobenchmarkCommand(CLI::App* app);

}  // namespace rayx::cli
