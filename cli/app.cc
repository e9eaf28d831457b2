#include "cli/app.h"

#include <Python.h>
#include <mimalloc.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli/microbenchmark_command.h"
#include "cli/run_command.h"
#include "cli/status_command.h"
#include "cli/worker_command.h"

namespace rayx::cli {
namespace {

constexpr char kVersion[] = "0.1.0";

}  // namespace

std::string VersionString() {
  std::string python = Py_GetVersion();  // "3.11.2 (main, ...) [GCC ...]": keep the number.
  python = python.substr(0, python.find(' '));
  int mi = mi_version();  // 209 for 2.0.9.
  return std::string("rayx ") + kVersion + " (Python " + python + ", mimalloc " +
         std::to_string(mi / 100) + "." + std::to_string(mi / 10 % 10) + "." +
         std::to_string(mi % 10) + ")";
}

int RunCli(int argc, char** argv) {
  try {
    CLI::App app("rayx runs Python programs written against Ray Core's API with one binary.",
                 "rayx");
    app.set_version_flag("--version", VersionString());
    app.require_subcommand(1);
    AddRunCommand(&app);
    AddMicrobenchmarkCommand(&app);
    AddWorkerCommand(&app);
    AddStatusCommand(&app);
    if (argc > 1 && argv[1][0] != '-' &&
        app.get_subcommands([&](CLI::App* sub) { return sub->check_name(argv[1]); }).empty()) {
      std::fprintf(stderr, "rayx: unknown subcommand '%s'\nRun with --help for more information.\n",
                   argv[1]);
      return 2;
    }
    try {
      app.parse(argc, argv);
    } catch (const CLI::Error& e) {
      int status = app.exit(e);
      // CLI11 numbers its parse errors 100 and up; a usage error is 2, as for python3.
      if (e.get_name() != "RuntimeError" && status != 0) return 2;
      return status;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rayx: internal error: %s\n", e.what());
    return 70;
  }
}

}  // namespace rayx::cli
