// The rayx command line: `rayx [--help] [--version] SUBCOMMAND ...`.
//
// Each subcommand lives in its own file, cli/<name>_command.{h,cc}, exposing
// `void Add<Name>Command(CLI::App* app)` that adds the subcommand with its options and a callback
// doing the work; RunCli() calls every Add*Command in turn. A callback reports a non-zero exit
// status by throwing CLI::RuntimeError(status); that is the only exception a callback may let
// out, and RunCli() turns it into its return value.
#pragma once

#include <string>

namespace rayx::cli {

// "rayx 0.1.0 (Python 3.11.2, mimalloc 2.0.9)".
std::string VersionString();

// Parses argv and runs the chosen subcommand. Returns the process exit status: the subcommand's,
// 0 for --help and --version, 2 for a command line that does not parse (after saying why on
// stderr). Never throws.
int RunCli(int argc, char** argv);

}  // namespace rayx::cli
