// The one way into the engine from Python: every `_rayx` entry point is wrapped by Entry (or
// FastEntry), which catches every C++ exception (std::bad_alloc included) and raises a Python
// error instead, so that nothing thrown inside the engine can terminate the process from a
// CPython frame. An entry point parses its arguments, releases the GIL around the engine call
// (WithoutGil, which takes the GIL back however the call ends), and turns a failed Status into
// an exception with RaiseStatus, the only place where that happens.
//
// The process's runtime and embedded node are guarded by the GIL: they are swapped only with it
// held. A call that releases the GIL holds a reference of its own (LiveRuntime), so that a
// disconnect from another thread never frees what the call still uses; the call then wakes with
// Unavailable, which RaiseStatus names as a shutdown.
//
// Every function here requires the GIL.
#pragma once

#include <Python.h>

#include <exception>
#include <memory>
#include <new>

#include "engine/base/status.h"
#include "engine/client/client_runtime.h"

namespace rayx {

// _rayx.EngineError, a RuntimeError.
extern PyObject* g_engine_error;

// Sets the Python exception for status and returns null. A status from a wait given up for a
// signal leaves the exception that the signal's handler raised (KeyboardInterrupt).
PyObject* RaiseStatus(const Status& status);
// Raises for a C++ exception caught at the boundary; returns null.
PyObject* RaiseInternalError(const char* what);

// This process's runtime, or null with EngineError set (not connected, or a forked child).
// The returned reference keeps it alive across a WithoutGil section.
std::shared_ptr<ClientRuntime> LiveRuntime();
// The runtime without a reference of its own, or null (no error set): for calls that keep the
// GIL throughout, during which nobody can swap it.
ClientRuntime* CurrentRuntime();

// Runs f with the GIL released and returns its result; the GIL is taken back whether f returns
// or throws.
template <typename F>
auto WithoutGil(F&& f) -> decltype(f()) {
  struct Reacquire {
    PyThreadState* state;
    ~Reacquire() { PyEval_RestoreThread(state); }
  } reacquire{PyEval_SaveThread()};
  return f();
}

template <typename Body>
PyObject* Guarded(Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return PyErr_NoMemory();
  } catch (const std::exception& e) {
    return RaiseInternalError(e.what());
  } catch (...) {
    return RaiseInternalError("an exception that is not a std::exception");
  }
}

// The PyCFunction of a METH_VARARGS, METH_O or METH_NOARGS entry point.
template <PyObject* (*F)(PyObject*, PyObject*)>
PyObject* Entry(PyObject* self, PyObject* args) noexcept {
  return Guarded([&] { return F(self, args); });
}

// The PyCFunction of a METH_FASTCALL entry point.
template <PyObject* (*F)(PyObject*, PyObject* const*, Py_ssize_t)>
PyCFunction FastEntry() {
  _PyCFunctionFast fast = [](PyObject* self, PyObject* const* args, Py_ssize_t n) noexcept {
    return Guarded([&] { return F(self, args, n); });
  };
  return reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(fast));
}

}  // namespace rayx

namespace rayx {

// Installs runtime as this process's (GIL held; none may be installed already).
void InstallRuntime(std::shared_ptr<ClientRuntime> runtime);
// Takes this process's runtime away (GIL held); null when there is none.
std::shared_ptr<ClientRuntime> TakeRuntime();
// True in a child forked from a rayx process: the engine there is its parent's and unusable.
bool InForkedChild();
// Called in a forked child (pthread_atfork): forgets the runtime without destroying it (that
// would shut the parent's socket and wait for threads the child does not have) after closing the
// child's copies of its sockets,
void ForgetRuntimeInForkedChild();

}  // namespace rayx
