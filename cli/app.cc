#include "cli/app.h"

#include <Python.h>
#include <mimalloc.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <exception>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "cli/jobs_command.h"
#include "cli/microbenchmark_command.h"
#include "cli/replay_command.h"
#include "cli/run_command.h"
#include "cli/start_command.h"
#include "cli/status_command.h"
#include "cli/stop_command.h"
#include "cli/timeline_command.h"
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

namespace {

// Where a python3 command line's program starts (-c, -m, - or an existing file), after python's
// own interpreter flags (-B, -s, -E, -u, -W arg, -X opt, ...), which rayx accepts and ignores:
// multiprocessing passes the flags of the parent interpreter (-B here). 0 when argv is not one.
int PythonProgramIndex(int argc, char** argv) {
  static const std::set<std::string> kFlags = {"-B", "-b", "-bb", "-d", "-E", "-I", "-O", "-OO",
                                               "-q", "-s", "-S",  "-u", "-v", "-R", "-P"};
  int i = 1;
  while (i < argc) {
    std::string arg = argv[i];
    if (kFlags.count(arg) != 0) {
      ++i;
    } else if (arg == "-W" || arg == "-X") {
      i += 2;
    } else if (arg.size() > 2 && (arg.rfind("-W", 0) == 0 || arg.rfind("-X", 0) == 0)) {
      ++i;
    } else {
      break;
    }
  }
  if (i >= argc) return 0;
  std::string program = argv[i];
  if (program == "-c" || program == "-m" || program == "-") return i;
  struct stat st;
  bool is_file = program[0] != '-' && stat(argv[i], &st) == 0 && S_ISREG(st.st_mode);
  return is_file ? i : 0;
}

}  // namespace

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
    AddStartCommand(&app);
    AddStopCommand(&app);
    AddJobsCommand(&app);
    AddReplayCommand(&app);
    AddTimelineCommand(&app);
    // Python's own command lines mean `rayx run ...`: sys.executable is this binary, so
    // multiprocessing's "spawn" and subprocess.run([sys.executable, ...]) start rayx as if it were
    // python3 (`rayx -c CODE ...`, `rayx -m MODULE ...`, `rayx SCRIPT ...`).
    std::vector<char*> as_run;
    int program =
        argc > 1 &&
                app.get_subcommands([&](CLI::App* sub) { return sub->check_name(argv[1]); }).empty()
            ? PythonProgramIndex(argc, argv)
            : 0;
    if (program > 0) {
      static char run[] = "run";
      as_run = {argv[0], run};
      as_run.insert(as_run.end(), argv + program, argv + argc);
      argc = static_cast<int>(as_run.size());
      argv = as_run.data();
    }
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
  } catch (const std::system_error& e) {
    // A thread or a resource the process could not get (std::thread throws system_error): not a
    // bug in rayx, but a limit of this machine or user, which the message names.
    const int code = e.code().value();
    std::fprintf(stderr, "rayx: %s%s\n", e.what(),
                 code == EAGAIN ? " (the processes and threads of this user may be at their limit: "
                                  "see `ulimit -u`)"
                 : code == EMFILE ? " (the process is out of file descriptors: see `ulimit -n`)"
                 : code == ENOMEM ? " (out of memory)"
                                  : "");
    return 71;  // EX_OSERR.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rayx: internal error: %s\n", e.what());
    return 70;
  }
}

}  // namespace rayx::cli
