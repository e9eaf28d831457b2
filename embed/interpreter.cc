#include "embed/interpreter.h"

#include <Python.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "embed/core/module.h"
#include "embed/importer.h"

namespace rayx::embed {
namespace {

std::atomic<bool> g_alive{false};

// Registers a builtin module unless it already is: PyImport_AppendInittab must precede
// initialization, and a restarted interpreter would otherwise list it twice.
Status AppendInittabOnce(const char* name, PyObject* (*init)(void)) {
  for (const _inittab* entry = PyImport_Inittab; entry->name != nullptr; ++entry) {
    if (std::strcmp(entry->name, name) == 0) return Status::OK();
  }
  if (PyImport_AppendInittab(name, init) != 0) {
    return Internal(std::string("cannot register builtin module ") + name);
  }
  return Status::OK();
}

Status FromPyStatus(const char* what, PyStatus status) {
  std::string message = what;
  if (status.func != nullptr) message += std::string(": ") + status.func;
  if (status.err_msg != nullptr) message += std::string(": ") + status.err_msg;
  if (PyStatus_IsExit(status)) message += ": exit " + std::to_string(status.exitcode);
  return Internal(message);
}

// Fills `config` from `options`. Returns a non-OK status when CPython rejects a value.
Status Configure(const InterpreterOptions& options, PyConfig* config) {
  using Main = InterpreterOptions::Main;
  config->parse_argv = 0;  // rayx's CLI parsed its own arguments; sys.argv is taken as given.
  config->install_signal_handlers = options.install_signal_handlers ? 1 : 0;

  std::vector<std::string> argv;
  PyStatus status = PyStatus_Ok();
  switch (options.main) {
    case Main::kNothing:
      argv.push_back("");
      break;
    case Main::kScript:
      argv.push_back(options.target);
      status = PyConfig_SetBytesString(config, &config->run_filename, options.target.c_str());
      break;
    case Main::kCommand:
      argv.push_back("-c");  // sys.path[0] becomes the working directory, as with python3 -c.
      status =
          PyConfig_SetBytesString(config, &config->run_command, (options.target + "\n").c_str());
      break;
    case Main::kModule:
      argv.push_back("-m");  // runpy replaces it with the module's path, as with python3 -m.
      status = PyConfig_SetBytesString(config, &config->run_module, options.target.c_str());
      break;
    case Main::kStdin:
      argv.push_back("-");
      break;
  }
  if (PyStatus_Exception(status)) return FromPyStatus("setting the program to run", status);

  argv.insert(argv.end(), options.args.begin(), options.args.end());
  std::vector<char*> argv_c;
  for (std::string& arg : argv) argv_c.push_back(arg.data());
  status = PyConfig_SetBytesArgv(config, static_cast<Py_ssize_t>(argv_c.size()), argv_c.data());
  if (PyStatus_Exception(status)) return FromPyStatus("setting sys.argv", status);

  status = PyConfig_SetBytesString(config, &config->program_name, options.program_name.c_str());
  if (PyStatus_Exception(status)) return FromPyStatus("setting the program name", status);

  // sys.executable is this binary wherever it was started from (not a PATH lookup of the name).
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    self[n] = '\0';
    status = PyConfig_SetBytesString(config, &config->executable, self);
    if (PyStatus_Exception(status)) return FromPyStatus("setting sys.executable", status);
  }
  return Status::OK();
}

// The exit status for the pending SystemExit, which this clears; like python3, prints a
// non-integer code to stderr and returns 1 for it.
int HandleSystemExit() {
  PyObject *type = nullptr, *value = nullptr, *traceback = nullptr;
  PyErr_Fetch(&type, &value, &traceback);
  PyErr_NormalizeException(&type, &value, &traceback);
  int exit_status = 0;
  PyObject* code = value != nullptr ? PyObject_GetAttrString(value, "code") : nullptr;
  if (code == nullptr) {
    PyErr_Clear();
  } else if (code == Py_None) {
    exit_status = 0;
  } else if (PyLong_Check(code)) {
    exit_status = static_cast<int>(PyLong_AsLong(code));
  } else {
    PyObject_Print(code, stderr, Py_PRINT_RAW);
    std::fputc('\n', stderr);
    PyErr_Clear();
    exit_status = 1;
  }
  Py_XDECREF(code);
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(traceback);
  return exit_status;
}

}  // namespace

StatusOr<std::unique_ptr<Interpreter>> Interpreter::Start(const InterpreterOptions& options) {
  if (g_alive.exchange(true)) {
    return FailedPrecondition("an embedded interpreter is already running in this process");
  }
  auto fail = [](Status s) {
    g_alive = false;
    return s;
  };
  Status registered = AppendInittabOnce("_rayx", PyInit__rayx);
  if (registered.ok()) registered = AppendInittabOnce("_rayx_embedded", PyInit__rayx_embedded);
  if (!registered.ok()) return fail(registered);

  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  Status configured = Configure(options, &config);
  if (!configured.ok()) {
    PyConfig_Clear(&config);
    return fail(configured);
  }
  PyStatus status = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(status)) return fail(FromPyStatus("starting Python", status));

  std::unique_ptr<Interpreter> interpreter(new Interpreter());
  interpreter->running_ = true;
  Status installed = InstallImporter();
  if (!installed.ok()) {
    interpreter->Finalize();
    return installed;  // Finalize() released g_alive.
  }
  return interpreter;
}

Interpreter::~Interpreter() { Finalize(); }

int Interpreter::RunMain() {
  if (!running_) return 1;
  running_ = false;
  int exit_status = Py_RunMain();  // Finalizes; may end the process by SIGINT (as python3 does).
  g_alive = false;
  return exit_status;
}

int Interpreter::RunString(const std::string& code) {
  if (!running_) return 1;
  PyObject* main_module = PyImport_AddModule("__main__");  // Borrowed.
  if (main_module == nullptr) {
    PyErr_Print();
    return 1;
  }
  PyObject* globals = PyModule_GetDict(main_module);  // Borrowed.
  PyObject* result = PyRun_String(code.c_str(), Py_file_input, globals, globals);
  if (result != nullptr) {
    Py_DECREF(result);
    return 0;
  }
  if (PyErr_ExceptionMatches(PyExc_SystemExit)) return HandleSystemExit();
  PyErr_Print();
  return 1;
}

int Interpreter::Finalize() {
  if (!running_) return 0;
  running_ = false;
  int exit_status = Py_FinalizeEx() < 0 ? 120 : 0;
  g_alive = false;
  return exit_status;
}

}  // namespace rayx::embed
