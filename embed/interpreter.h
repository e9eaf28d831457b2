// The embedded CPython interpreter's life cycle, shared by `rayx run` and by worker processes.
//
// Interpreter::Start initializes Debian's libpython3.11 with PyConfig_InitPythonConfig, so the
// environment is honoured as python3 would (PYTHONPATH, PYTHONUNBUFFERED, ...), with the builtin
// modules `_rayx` (the engine's bindings) and `_rayx_embedded` registered and the importer of the
// embedded `rayx` package (see importer.h) installed. $VIRTUAL_ENV's site-packages, when present,
// is importable too.
//
// Then either:
//   * RunMain() runs what the options name (a script, -c code, -m module, or stdin/REPL) with
//     python3's exact semantics, via Py_RunMain: `__name__ == "__main__"`, sys.argv, the script's
//     folder first on sys.path, the exit status of SystemExit, a traceback and status 1 on an
//     uncaught exception, KeyboardInterrupt on Ctrl-C (and death by SIGINT when it is uncaught),
//     stdio flushed. It finalizes the interpreter before returning; or
//   * the caller (a worker) keeps the interpreter and calls into Python itself, possibly using
//     RunString(), and finalizes with Finalize() or the destructor.
//
// Threads: one Interpreter may exist at a time in a process. Start() returns with the calling
// thread holding the GIL; every method must be called from that thread with the GIL held. A caller
// that wants other threads to run Python releases the GIL (PyEval_SaveThread) and takes it back
// (PyEval_RestoreThread) before finalizing.
//
// Restart: after finalization a new Interpreter may be started in the same process (tests do
// this). CPython does not promise that every extension module survives it (numpy does not), so
// production code starts one interpreter per process.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/base/status.h"

namespace rayx::embed {

struct InterpreterOptions {
  enum class Main {
    kNothing,  // Start only; the caller drives Python (workers). RunMain() would read stdin.
    kScript,   // target is a path, as `python3 SCRIPT args...`.
    kCommand,  // target is code, as `python3 -c CODE args...`.
    kModule,   // target is a module name, as `python3 -m MODULE args...`.
    kStdin,    // The program is read from stdin (a REPL on a terminal), as `python3 - args...`.
  };
  Main main = Main::kNothing;
  std::string target;
  // sys.argv[1:].
  std::vector<std::string> args;
  // How the binary was invoked (argv[0]); prefixes errors like "rayx: can't open file ...".
  std::string program_name = "rayx";
  // Python's handlers for SIGINT (KeyboardInterrupt) and friends, as in python3.
  bool install_signal_handlers = true;
};

class Interpreter {
 public:
  // Initializes the interpreter. Fails with FailedPrecondition when another Interpreter is alive,
  // with Internal when CPython refuses the configuration or the importer cannot be installed.
  static StatusOr<std::unique_ptr<Interpreter>> Start(const InterpreterOptions& options);

  // Finalizes the interpreter if it is still running.
  ~Interpreter();

  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  // Runs the program the options name and finalizes; returns the process exit status python3
  // would have (0..255). Like python3, a SystemExit raised by the program (sys.exit) and an
  // uncaught KeyboardInterrupt end the process from inside this call: the interpreter is finalized
  // (atexit hooks run, stdio is flushed) and then exit(status) (or death by SIGINT) follows. Code
  // that must run before the process ends registers a Python atexit hook. REQUIRES: running().
  int RunMain();

  // Runs `code` in __main__'s namespace, like `python3 -c` but keeping the interpreter: returns 0,
  // the status of a SystemExit, or 1 after printing the traceback of any other exception.
  // REQUIRES: running().
  int RunString(const std::string& code);

  // Finalizes the interpreter; returns 0, or 120 when flushing stdio failed (as python3 does).
  // Does nothing and returns 0 when already finalized.
  int Finalize();

  bool running() const { return running_; }

 private:
  Interpreter() = default;
  bool running_ = false;
};

}  // namespace rayx::embed
