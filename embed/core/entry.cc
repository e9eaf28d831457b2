#include "embed/core/entry.h"

#include <string>

#include "engine/wire/values.h"

namespace rayx {

PyObject* g_engine_error = nullptr;

namespace {

std::shared_ptr<ClientRuntime> g_runtime;  // Guarded by the GIL.
bool g_forked_child = false;

// Where a forked child leaves its parent's runtime: never destroyed, and no allocation in the
// child's fork handler.
alignas(std::shared_ptr<ClientRuntime>) unsigned char g_abandoned[sizeof(
    std::shared_ptr<ClientRuntime>)];

PyObject* RaiseObjectStoreFull(std::string message) {
  const std::string prefix = std::string(SystemErrorName(SystemErrorCode::kObjectStoreFull)) + ": ";
  if (message.rfind(prefix, 0) == 0) message = message.substr(prefix.size());
  PyObject* module = PyImport_ImportModule("rayx.exceptions");
  PyObject* cls = module ? PyObject_GetAttrString(module, "ObjectStoreFullError") : nullptr;
  Py_XDECREF(module);
  if (cls == nullptr) return nullptr;
  PyErr_SetString(cls, message.c_str());
  Py_DECREF(cls);
  return nullptr;
}

}  // namespace

PyObject* RaiseStatus(const Status& status) {
  if (PyErr_Occurred()) return nullptr;  // A signal's handler raised already (KeyboardInterrupt).
  switch (status.code()) {
    case StatusCode::kTimedOut:
      PyErr_SetString(PyExc_TimeoutError, status.message().c_str());
      return nullptr;
    case StatusCode::kInvalidArgument:
      PyErr_SetString(PyExc_ValueError, status.message().c_str());
      return nullptr;
    case StatusCode::kOutOfMemory:  // The object store and the disk are full.
      return RaiseObjectStoreFull(status.message());
    case StatusCode::kUnavailable:
      if (g_runtime == nullptr && !g_forked_child) {
        PyErr_SetString(
            g_engine_error,
            ("rayx was shut down while this call waited (" + status.ToString() + ")").c_str());
        return nullptr;
      }
      break;
    default:
      break;
  }
  PyErr_SetString(g_engine_error, status.ToString().c_str());
  return nullptr;
}

PyObject* RaiseInternalError(const char* what) {
  PyErr_Format(g_engine_error, "internal error in the rayx engine: %s", what);
  return nullptr;
}

std::shared_ptr<ClientRuntime> LiveRuntime() {
  if (g_runtime == nullptr) {
    PyErr_SetString(g_engine_error,
                    g_forked_child
                        ? "rayx cannot be used in a process forked from a rayx driver or worker; "
                          "start such processes with multiprocessing's 'spawn' method"
                        : "rayx is not connected to a node (call rayx.init() first)");
  }
  return g_runtime;
}

ClientRuntime* CurrentRuntime() { return g_runtime.get(); }

void InstallRuntime(std::shared_ptr<ClientRuntime> runtime) { g_runtime = std::move(runtime); }

std::shared_ptr<ClientRuntime> TakeRuntime() { return std::move(g_runtime); }

bool InForkedChild() { return g_forked_child; }

void ForgetRuntimeInForkedChild() {
  g_forked_child = true;
  if (g_runtime == nullptr) return;
  g_runtime->AbandonInForkedChild();  // Its sockets' copies: closed.
  new (g_abandoned) std::shared_ptr<ClientRuntime>(std::move(g_runtime));
}

}  // namespace rayx
