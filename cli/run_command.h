// `rayx run`: runs a Python program the way python3 would, with `rayx` (and `ray`) importable.
//
//   rayx run SCRIPT [ARGS...]     as python3 SCRIPT ARGS...
//   rayx run -c CODE [ARGS...]    as python3 -c CODE ARGS...
//   rayx run -m MODULE [ARGS...]  as python3 -m MODULE ARGS...
//   rayx run [-] [ARGS...]        the program is read from stdin (a REPL on a terminal)
//
// Everything after SCRIPT (or CODE, MODULE) goes to the program untouched, options included.
// The exit status is the program's, as python3 would report it.
#pragma once

#include <CLI/CLI.hpp>

#include "embed/interpreter.h"

namespace rayx::cli {

void AddRunCommand(CLI::App* app);

// Starts the interpreter and runs what options name, as `rayx run` does; a non-zero exit status
// (or a failure to start Python) leaves the subcommand's callback as CLI::RuntimeError.
void RunPythonMain(const embed::InterpreterOptions& options);

}  // namespace rayx::cli
